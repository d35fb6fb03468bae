"""Small building blocks shared by the nets (no losses, no Lightning)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["init_dcgan_weights_", "output_activation", "View", "check_square_image"]


@torch.no_grad()
def init_dcgan_weights_(module: nn.Module, std: float = 0.02) -> None:
    """Radford et al. 2015, Sec. 4: "All weights were initialized from a zero-centered Normal
    distribution with standard deviation 0.02". Batch-norm scales start at N(1, 0.02), biases at 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


def output_activation(name: str) -> nn.Module:
    """``tanh`` for images scaled to [-1, 1]; ``identity`` for unbounded data (2-D toy points)."""
    if name == "tanh":
        return nn.Tanh()
    if name == "identity":
        return nn.Identity()
    raise ValueError(f"unknown output activation {name!r}; use 'tanh' or 'identity'")


class View(nn.Module):
    """Reshape (B, prod(shape)) -> (B, *shape)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: Tensor) -> Tensor:
        return x.view(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


def prod(shape: tuple[int, ...] | list[int]) -> int:
    return math.prod(int(s) for s in shape)


def check_square_image(image_shape: tuple[int, ...] | list[int]) -> tuple[int, int, int]:
    """Validate a (C, S, S) image shape and return it as a tuple of ints."""
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3 or shape[1] != shape[2]:
        raise ValueError(f"image_shape must be (channels, size, size), got {shape}")
    return shape  # type: ignore[return-value]
