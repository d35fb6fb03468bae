"""scikit-learn's bundled 8×8 digits (1,797 images): the offline default, nothing to download."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, TensorDataset

from gan_zoo.data.base import GANDataModule, dataset_tensors

__all__ = ["DigitsDataModule", "load_digits_tensor"]


def load_digits_tensor(image_size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """(x (1797, 1, S, S) in [-1, 1], y (1797,)): the 0..16 gray levels scaled, bilinearly resized."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.as_tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0  # (N, 1, 8, 8) in [0, 1]
    if image_size != 8:
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
    x = x.clamp(0, 1) * 2 - 1
    return x, torch.as_tensor(bunch.target, dtype=torch.long)


class DigitsDataModule(GANDataModule):
    """scikit-learn digits resized to ``image_size``; batches are (x (B, 1, S, S), y (B,)); kept on the device by default."""

    num_classes = 10

    def __init__(
        self,
        image_size: int = 32,
        batch_size: int = 64,
        num_workers: int | None = None,
        limit_samples: int | None = None,
        in_memory: bool = True,
    ) -> None:
        super().__init__(batch_size, num_workers, limit_samples, in_memory=in_memory)
        self.image_shape = (1, image_size, image_size)

    def build_train_set(self) -> Dataset:
        return TensorDataset(*load_digits_tensor(self.image_size))

    def train_tensors(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        x, y = dataset_tensors(self.train_set)  # float, already in [-1, 1] (bilinear resize of 17 levels)
        return x, y
