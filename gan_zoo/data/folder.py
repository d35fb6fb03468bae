"""Any folder of images, and CelebA (aligned faces, centre-cropped and resized to 64)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.data import Dataset

from gan_zoo.data.base import GANDataModule, image_transform, resolve_data_dir
from gan_zoo.errors import DataError, DatasetNotFoundError

__all__ = ["ImageFolderDataModule", "CelebADataModule", "FlatImageFolder"]

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


class UnreadableImageError(DataError):
    """An image file that PIL cannot decode (truncated, corrupt, not an image)."""


class FlatImageFolder(Dataset):
    """Every image file under ``root`` (recursively, sorted); items are (image tensor, 0).

    An unreadable file raises ``UnreadableImageError`` naming it; with ``skip_unreadable`` the item is
    replaced by the next readable file instead, with a warning that names the file and counts the skips
    (the count is per DataLoader worker process).
    """

    def __init__(self, root: Path, transform, channels: int = 3, skip_unreadable: bool = False) -> None:
        self.files = sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        self.transform = transform
        self.mode = "L" if channels == 1 else "RGB"
        self.skip_unreadable = skip_unreadable
        self.skipped: set[Path] = set()

    def __len__(self) -> int:
        return len(self.files)

    def load(self, path: Path) -> torch.Tensor:
        try:
            with Image.open(path) as img:
                return self.transform(img.convert(self.mode))
        except (OSError, ValueError, SyntaxError) as err:  # PIL's errors for truncated/corrupt files
            raise UnreadableImageError(
                f"cannot read image {path} ({err}); fix or delete it, or pass --data.skip_unreadable true "
                "to train on the readable files"
            ) from None

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        for offset in range(len(self.files)):
            path = self.files[(index + offset) % len(self.files)]
            if path in self.skipped:
                continue
            try:
                return self.load(path), 0
            except UnreadableImageError:
                if not self.skip_unreadable:
                    raise
                self.skipped.add(path)
                warnings.warn(f"skipping unreadable image {path} ({len(self.skipped)} skipped so far)", stacklevel=2)
        raise UnreadableImageError(f"no readable image among the {len(self.files)} files under the data folder")


class ImageFolderDataModule(GANDataModule):
    """All images under ``root`` (any layout), resized to ``image_size``; no labels are used.

    Args:
        root: the folder; relative paths are taken under the data root (``data_dir``/``$GAN_ZOO_DATA``).
        center_crop: crop this square from the centre before resizing (CelebA: 178).
        skip_unreadable: replace a truncated or corrupt file by the next readable one (with a warning
            naming it) instead of stopping with an error that names it.
    """

    def __init__(
        self,
        root: str,
        image_size: int = 64,
        channels: int = 3,
        center_crop: int | None = None,
        data_dir: str | None = None,
        batch_size: int = 64,
        num_workers: int | None = None,
        limit_samples: int | None = None,
        skip_unreadable: bool = False,
    ) -> None:
        super().__init__(batch_size, num_workers, limit_samples)
        self.root = resolve_data_dir(data_dir) / root
        self.center_crop = center_crop
        self.skip_unreadable = skip_unreadable
        self.image_shape = (channels, image_size, image_size)

    def build_train_set(self) -> Dataset:
        dataset = FlatImageFolder(
            self.root, image_transform(self.image_size, None, self.center_crop), self.channels, self.skip_unreadable
        )
        if len(dataset) == 0:
            raise DatasetNotFoundError(
                f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) found under {self.root}; "
                "point --data.root (and --data.data_dir) at a folder of images"
            )
        return dataset


class CelebADataModule(ImageFolderDataModule):
    """CelebA aligned faces (``<data root>/celeba/img_align_celeba/*.jpg``, torchvision's layout),
    centre crop 178 then resize to 64, as in DCGAN/BEGAN-style CelebA pipelines. Download it yourself:
    its licence forbids redistribution and torchvision's Google-Drive download is often rate-limited."""

    def __init__(
        self, root: str = "celeba/img_align_celeba", image_size: int = 64, center_crop: int | None = 178, **kwargs: Any
    ) -> None:
        # kwargs: ImageFolderDataModule's data_dir, batch_size, num_workers, limit_samples, skip_unreadable
        # (jsonargparse reads them from this call, so `--data.batch_size` works on CelebA as on ImageFolder).
        super().__init__(root, image_size, 3, center_crop, **kwargs)
