"""Shared fixtures. Tests run on the CPU with one thread (two threads beside another busy process are
4-8x slower, see shared/STACK.md) and read the real datasets from $GAN_ZOO_DATA (unpacked by
`python ../shared/datasets/prepare.py --out DIR`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

torch.set_num_threads(1)
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The unpacked real datasets. CI and the README set GAN_ZOO_DATA; a missing folder is an error,
    not a skip: the suite is meant to run against real data."""
    root = os.environ.get("GAN_ZOO_DATA")
    if not root or not (Path(root) / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file():
        raise RuntimeError(
            "set GAN_ZOO_DATA to a folder made by `python ../shared/datasets/prepare.py --out DIR` "
            f"(got {root!r})"
        )
    return Path(root)


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory) -> Path:
    """A data root holding ``celeba/img_align_celeba/`` with 12 small random JPEGs (CelebA's layout)."""
    root = tmp_path_factory.mktemp("folder_data")
    faces = root / "celeba" / "img_align_celeba"
    faces.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 255, (218, 178, 3), dtype=np.uint8)).save(faces / f"{i:06d}.jpg")
    return root
