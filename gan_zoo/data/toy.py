"""2-D toy distributions for mode-collapse studies (as in the unrolled-GAN and WGAN-GP papers).

* ``gaussians8``: 8 Gaussians on a circle of radius 2, σ = 0.02.
* ``gaussians25``: 25 Gaussians on the grid {-4, -2, 0, 2, 4}², σ = 0.05.
* ``swissroll``: scikit-learn's swiss roll (x, z coordinates), noise 0.25, scaled by 1/7.5.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch.utils.data import Dataset, TensorDataset

from gan_zoo.data.base import GANDataModule, dataset_tensors

__all__ = ["ToyDataModule", "toy_modes", "sample_toy"]

ToyName = Literal["gaussians8", "gaussians25", "swissroll"]
MODE_STD = {"gaussians8": 0.02, "gaussians25": 0.05}


def toy_modes(name: ToyName) -> torch.Tensor:
    """Mode centres (K, 2) of a Gaussian-mixture toy distribution."""
    if name == "gaussians8":
        angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
        return (2.0 * torch.stack([angles.cos(), angles.sin()], dim=1)).float()
    if name == "gaussians25":
        grid = torch.arange(-4.0, 5.0, 2.0)
        return torch.cartesian_prod(grid, grid)
    raise ValueError(f"{name!r} has no discrete modes")


def sample_toy(name: ToyName, n: int, seed: int = 0) -> torch.Tensor:
    """n points (n, 2) from the named distribution, reproducible from ``seed``."""
    rng = torch.Generator().manual_seed(seed)
    if name == "swissroll":
        from sklearn.datasets import make_swiss_roll

        points, _ = make_swiss_roll(n_samples=n, noise=0.25, random_state=seed)
        return torch.as_tensor(points[:, [0, 2]], dtype=torch.float32) / 7.5
    modes = toy_modes(name)
    which = torch.randint(len(modes), (n,), generator=rng)
    return modes[which] + MODE_STD[name] * torch.randn(n, 2, generator=rng)


class ToyDataModule(GANDataModule):
    """A fixed sample of ``num_samples`` 2-D points; batches are [x (B, 2)] with no labels; kept on the device by default."""

    def __init__(
        self,
        distribution: ToyName = "gaussians8",
        num_samples: int = 100_000,
        seed: int = 0,
        batch_size: int = 256,
        num_workers: int | None = None,
        limit_samples: int | None = None,
        in_memory: bool = True,
    ) -> None:
        super().__init__(batch_size, num_workers, limit_samples, in_memory=in_memory)
        self.distribution = distribution
        self.num_samples = num_samples
        self.seed = seed
        self.image_shape = (2,)

    @property
    def image_size(self) -> int:  # not an image: the "size" is the point dimension
        return 2

    def build_train_set(self) -> Dataset:
        return TensorDataset(sample_toy(self.distribution, self.num_samples, self.seed))

    def train_tensors(self) -> tuple[torch.Tensor, None]:
        (points,) = dataset_tensors(self.train_set)  # (N, 2) float
        return points, None
