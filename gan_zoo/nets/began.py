"""BEGAN networks (Berthelot, Schumm & Metz 2017, Sec. 3.5 and Figure 1).

The discriminator is an auto-encoder D(v) = decoder(encoder(v)); the generator has the decoder's
architecture with its own weights. Every convolution is 3×3 followed by an ELU; there are no skip
connections and no normalization layers.

Encoder, for an image (C, S, S) with S = 8·2^L (L = 2, 3, 4 for S = 32, 64, 128):
    conv(C -> n)                                                      (B, n, S, S)
    for stage i = 1 .. L+1 (channels n·i):
        conv, conv                                                     (B, n·i, S_i, S_i)
        if i <= L: conv with stride 2 (sub-sampling), n·i -> n·(i+1)   (B, n·(i+1), S_i/2, S_i/2)
    flatten, FC -> h (no nonlinearity: the embedding)                  (B, h)
Decoder / generator:
    FC h -> n·8·8, reshape                                             (B, n, 8, 8)
    for stage i = 1 .. L+1: conv, conv (n channels); if i <= L: nearest-neighbour ×2 upsampling
    conv(n -> C)                                                       (B, C, S, S)

``n`` (``num_filters``) = 64 and ``h`` (``hidden_dim``) = 64 in the paper's CelebA results; the paper also
uses n = 128. The generator's input z has N_z = h dimensions by default (``latent_dim``).

Weights start from Xavier/Glorot-uniform with zero biases (``init_began_weights_``; the paper names no
init). PyTorch's default init leaves these deep, unnormalized stacks nearly input-independent at the start,
and BEGAN on MNIST then never learned (``weight_init="pytorch"`` keeps it for comparison).
"""

from __future__ import annotations

from typing import Literal, Sequence

import torch
from torch import Tensor, nn

from gan_zoo.nets.layers import View, check_square_image, output_activation

__all__ = ["BEGANEncoder", "BEGANDecoder", "BEGANGenerator", "BEGANDiscriminator", "began_stages", "init_began_weights_"]

BASE = 8  # the decoder's start map is 8×8

WeightInit = Literal["xavier", "pytorch"]


@torch.no_grad()
def init_began_weights_(module: nn.Module, scheme: WeightInit = "xavier") -> None:
    """Initialize every conv / linear layer of ``module``.

    ``"xavier"``: Glorot-uniform weights (Var w = 2 / (fan_in + fan_out)), zero biases. ``"pytorch"``: leave
    PyTorch's default (Kaiming-uniform with a = √5, Var w = 1 / (3 fan_in)), which shrinks the signal about
    threefold per 3×3 conv (why it matters, with measurements: "Deviations" in ``gan_zoo/models/began.py``).
    """
    if scheme == "pytorch":
        return
    if scheme != "xavier":
        raise ValueError(f"unknown weight_init {scheme!r}; use 'xavier' or 'pytorch'")
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def began_stages(image_size: int) -> int:
    """L, the number of ×2 steps between the 8×8 map and ``image_size`` (32 -> 2, 64 -> 3, 128 -> 4)."""
    stages, size = 0, image_size
    while size > BASE and size % 2 == 0:
        size //= 2
        stages += 1
    if size != BASE:
        raise ValueError(f"BEGAN nets need image_size = 8·2^L (32, 64, 128, ...), got {image_size}; resize the data")
    return stages


def _conv(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, stride, 1), nn.ELU(inplace=True)]


class BEGANEncoder(nn.Module):
    """(B, C, S, S) -> (B, h)."""

    def __init__(self, image_shape: Sequence[int], num_filters: int = 64, hidden_dim: int = 64) -> None:
        super().__init__()
        channels, size, _ = check_square_image(image_shape)
        stages = began_stages(size)
        n = num_filters
        layers = _conv(channels, n)
        for i in range(1, stages + 2):
            layers += _conv(n * i, n * i) + _conv(n * i, n * i)
            if i <= stages:
                layers += _conv(n * i, n * (i + 1), stride=2)  # sub-sampling by a stride-2 conv
        self.convs = nn.Sequential(*layers)  # (B, n·(L+1), 8, 8)
        self.fc = nn.Linear(n * (stages + 1) * BASE * BASE, hidden_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.convs(x).flatten(1))  # (B, h)


class BEGANDecoder(nn.Module):
    """(B, h) -> (B, C, S, S); the generator and D's decoder share this architecture, not weights."""

    def __init__(
        self, image_shape: Sequence[int], num_filters: int = 64, hidden_dim: int = 64, output: str = "identity"
    ) -> None:
        super().__init__()
        channels, size, _ = check_square_image(image_shape)
        stages = began_stages(size)
        n = num_filters
        self.fc = nn.Linear(hidden_dim, n * BASE * BASE)
        layers: list[nn.Module] = [View((n, BASE, BASE))]
        for i in range(1, stages + 2):
            layers += _conv(n, n) + _conv(n, n)
            if i <= stages:
                layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
        layers += [nn.Conv2d(n, channels, 3, 1, 1), output_activation(output)]
        self.convs = nn.Sequential(*layers)

    def forward(self, h: Tensor) -> Tensor:
        return self.convs(self.fc(h))  # (B, C, S, S)


class BEGANGenerator(nn.Module):
    """z (B, latent_dim) -> images (B, C, S, S).

    Args:
        latent_dim: N_z (the paper uses N_z = h = 64).
        image_shape: (C, S, S), S in {32, 64, 128, ...}.
        num_filters: n.
        output: ``"tanh"`` (default) keeps samples in the data range [-1, 1]; the paper names no output
            nonlinearity, ``"identity"`` gives a bare conv.
        weight_init: ``"xavier"`` (default) or ``"pytorch"`` (``init_began_weights_``).
    """

    def __init__(
        self,
        latent_dim: int = 64,
        image_shape: Sequence[int] = (3, 64, 64),
        num_filters: int = 64,
        output: str = "tanh",
        weight_init: WeightInit = "xavier",
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.image_shape = check_square_image(image_shape)
        self.decoder = BEGANDecoder(image_shape, num_filters, latent_dim, output)
        init_began_weights_(self, weight_init)

    def forward(self, z: Tensor) -> Tensor:
        return self.decoder(z)  # (B, C, S, S)


class BEGANDiscriminator(nn.Module):
    """The auto-encoder: images (B, C, S, S) -> reconstructions (B, C, S, S) (not logits).

    Args:
        image_shape: (C, S, S), S in {32, 64, 128, ...}.
        num_filters: n.
        hidden_dim: h, the bottleneck size.
        weight_init: ``"xavier"`` (default) or ``"pytorch"`` (``init_began_weights_``).
    """

    def __init__(
        self,
        image_shape: Sequence[int] = (3, 64, 64),
        num_filters: int = 64,
        hidden_dim: int = 64,
        weight_init: WeightInit = "xavier",
    ) -> None:
        super().__init__()
        self.image_shape = check_square_image(image_shape)
        self.encoder = BEGANEncoder(image_shape, num_filters, hidden_dim)
        self.decoder = BEGANDecoder(image_shape, num_filters, hidden_dim, "identity")
        init_began_weights_(self, weight_init)

    def features(self, x: Tensor) -> Tensor:
        return self.encoder(x)  # (B, h) embedding

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))  # (B, C, S, S) reconstruction
