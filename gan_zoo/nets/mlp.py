"""Fully connected generator and discriminator (Goodfellow et al. 2014; the seed's "4 FC layers").

Used by the vanilla GAN on MNIST and, with ``output_activation="identity"``, on the 2-D toy data.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from gan_zoo.nets.layers import View, output_activation, prod

__all__ = ["MLPGenerator", "MLPDiscriminator"]


class MLPGenerator(nn.Module):
    """z (B, latent_dim) -> x (B, *image_shape) through ``len(hidden) + 1`` linear layers.

    Args:
        latent_dim: size of z.
        image_shape: shape of one sample, e.g. (1, 28, 28) or (2,).
        hidden: widths of the hidden layers.
        output: ``"tanh"`` for images in [-1, 1], ``"identity"`` for unbounded data.
    """

    def __init__(
        self,
        latent_dim: int = 100,
        image_shape: Sequence[int] = (1, 28, 28),
        hidden: Sequence[int] = (256, 512, 1024),
        output: str = "tanh",
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.image_shape = tuple(int(s) for s in image_shape)
        layers: list[nn.Module] = []
        width = latent_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(inplace=True)]
            width = h
        layers += [nn.Linear(width, prod(self.image_shape)), output_activation(output), View(self.image_shape)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)  # (B, *image_shape)


class MLPDiscriminator(nn.Module):
    """x (B, *image_shape) -> one logit per sample (B,). ``features`` gives the last hidden layer.

    LeakyReLU(0.2) and dropout stand in for the paper's maxout + dropout (see the model's deviations).
    """

    def __init__(
        self,
        image_shape: Sequence[int] = (1, 28, 28),
        hidden: Sequence[int] = (1024, 512, 256),
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        self.image_shape = tuple(int(s) for s in image_shape)
        layers: list[nn.Module] = [nn.Flatten()]
        width = prod(self.image_shape)
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2, inplace=True)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, 1)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)  # (B, hidden[-1])

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x)).squeeze(1)  # (B,) logits
