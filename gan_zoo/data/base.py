"""Shared LightningDataModule plumbing: data root resolution, loaders, [-1, 1] image transforms."""

from __future__ import annotations

import os
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, Subset
from torchvision import transforms as T

__all__ = ["GANDataModule", "resolve_data_dir", "image_transform"]

DATA_ENV = "GAN_ZOO_DATA"


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    """``data_dir`` if given, else ``$GAN_ZOO_DATA``, else ``$XDG_CACHE_HOME/gan_zoo`` (``~/.cache/gan_zoo``)."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "gan_zoo"


def image_transform(image_size: int, native_size: int | None = None, center_crop: int | None = None) -> T.Compose:
    """PIL image -> float tensor (C, S, S) in [-1, 1]; resizes only when ``image_size != native_size``."""
    steps: list = []
    if center_crop is not None:
        steps.append(T.CenterCrop(center_crop))
    if native_size is None or image_size != native_size:
        steps += [T.Resize(image_size, antialias=True), T.CenterCrop(image_size)]
    steps += [T.ToTensor(), T.Normalize(0.5, 0.5)]  # [0, 1] -> [-1, 1], the tanh range
    return T.Compose(steps)


class GANDataModule(L.LightningDataModule):
    """Base for every gan_zoo data module.

    Subclasses implement ``build_train_set`` and set ``image_shape`` (C, H, W) — or (D,) for vector
    data — and ``num_classes`` (``None`` when the data carry no labels) in ``__init__``, so configs and
    CLI links can read sizes without touching files. ``metric_domain`` names the shipped domain
    classifier that scores samples of these data (``"mnist"``, ``"fashion_mnist"``; ``None``: none fits,
    use the Inception metrics); ``MetricsCallback`` reads it.

    Args:
        batch_size: samples per batch (per device under DDP).
        num_workers: DataLoader worker processes.
        limit_samples: keep only the first N training samples (smoke runs, tests).
    """

    image_shape: tuple[int, ...]
    num_classes: int | None = None
    metric_domain: str | None = None  # a gan_zoo.metrics.reference.DomainName

    def __init__(self, batch_size: int = 64, num_workers: int = 0, limit_samples: int | None = None) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.limit_samples = limit_samples
        self.train_set: Dataset | None = None

    @property
    def image_size(self) -> int:
        return self.image_shape[-1]

    @property
    def channels(self) -> int:
        return self.image_shape[0]

    def build_train_set(self) -> Dataset:
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            dataset = self.build_train_set()
            if self.limit_samples is not None:
                dataset = Subset(dataset, range(min(self.limit_samples, len(dataset))))
            self.train_set = dataset

    def train_dataloader(self) -> DataLoader:
        assert self.train_set is not None, "call setup() first"
        return DataLoader(
            self.train_set,
            batch_size=self.batch_size,
            shuffle=True,
            drop_last=len(self.train_set) >= self.batch_size,  # equal batches for batch norm
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
        )
