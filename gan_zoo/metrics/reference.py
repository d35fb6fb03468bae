"""Real reference images for the MNIST family, read straight from the torchvision files on disk.

The metrics compare generated samples with a fixed, named reference split ("train" or "test"), so a
reported number always says which real images it was measured against (see ``Protocol``).
"""

from __future__ import annotations

import os
from typing import Literal

import torch
from torch import Tensor
from torchvision import datasets

from gan_zoo.data.base import resolve_data_dir
from gan_zoo.errors import DatasetNotFoundError, GanZooError

__all__ = ["DomainName", "DOMAINS", "REFERENCE_DATASETS", "load_split"]

DomainName = Literal["mnist", "fashion_mnist"]
# name -> (torchvision class, folder under the data root)
DOMAINS: dict[str, tuple[type, str]] = {
    "mnist": (datasets.MNIST, "MNIST/raw"),
    "fashion_mnist": (datasets.FashionMNIST, "FashionMNIST/raw"),
}


def check_domain(name: str) -> str:
    if name not in DOMAINS:
        raise GanZooError(f"unknown domain {name!r}; use one of {sorted(DOMAINS)}")
    return name


# Datasets that can serve as the real reference (the Inception metrics accept colour images too).
REFERENCE_DATASETS = tuple(DOMAINS) + ("cifar10",)


def load_split(
    name: DomainName | Literal["cifar10"],
    split: Literal["train", "test"] = "test",
    data_dir: str | os.PathLike | None = None,
    limit: int | None = None,
) -> tuple[Tensor, Tensor]:
    """All images of one split as float32 (N, C, H, W) in [-1, 1] and int64 labels (N,): (N, 1, 28, 28) for
    the MNIST family, (N, 3, 32, 32) for ``"cifar10"``.

    ``limit`` keeps the first N images (the files' fixed order, so the subset is reproducible).
    Never downloads: a missing file is a ``DatasetNotFoundError`` naming the folder.
    """
    if name == "cifar10":
        from gan_zoo.data.torchvision_sets import CIFAR10NoChecksum  # accepts re-encoded copies

        cls, folder = CIFAR10NoChecksum, "cifar-10-batches-py"
    else:
        cls, folder = DOMAINS[check_domain(name)]
    if split not in ("train", "test"):
        raise GanZooError(f"unknown split {split!r}; use 'train' or 'test'")
    root = resolve_data_dir(data_dir)
    try:
        ds = cls(root=str(root), train=split == "train", download=False)
    except RuntimeError as err:
        raise DatasetNotFoundError(
            f"{cls.__name__} {split} split not found under {root / folder}; pass --data-dir DIR or set "
            f"GAN_ZOO_DATA=DIR to a folder holding {folder}/ (`python shared/datasets/prepare.py --out DIR`)"
        ) from err
    images, labels = torch.as_tensor(ds.data), torch.as_tensor(ds.targets)  # uint8 (N, H, W[, 3]), (N,)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    images = images.permute(0, 3, 1, 2) if images.dim() == 4 else images.unsqueeze(1)  # (N, C, H, W)
    x = images.float().div_(127.5).sub_(1.0)  # [0, 255] -> [-1, 1], as the data modules do
    return x.contiguous(), labels.long()
