"""DCGAN generator and discriminator (Radford et al. 2015, Sec. 3 "architecture guidelines").

* strided convolutions in D, fractionally-strided (transposed) convolutions in G, no pooling;
* batch norm in both nets except G's output layer and D's input layer (default eps=1e-5; never 0.8);
* ReLU in G with tanh at the output, LeakyReLU(0.2) in D;
* no hidden fully connected layers: G's "project and reshape" is a transposed conv on the 1×1 z map,
  D's last layer is a conv whose kernel covers the whole remaining map.

Spatial plan for ``image_size`` S: halve S while it is even and larger than 4 to get the start size
``s0`` and the number of ×2 stages ``n``: 64 -> (4, 4), 32 -> (4, 3), 28 -> (7, 2).
G: z (B, Z, 1, 1) -> (B, base·2^(n-1), s0, s0) -> ... -> (B, base, S/2, S/2) -> (B, C, S, S).

G's ``norm="virtual_batch"`` swaps batch norm for virtual batch norm (Salimans et al. 2016, Sec. 3.5): G keeps
a fixed reference batch of inputs z_ref (a buffer, so checkpoints carry it) and runs it through the net in
front of every live batch; each VBN layer normalises a live example with the reference batch's statistics
together with that example's own, so a sample never depends on the rest of its minibatch.
"""

from __future__ import annotations

from typing import Literal, Sequence

import torch
from torch import Tensor, nn

from gan_zoo.nets.improved import VirtualBatchNorm
from gan_zoo.nets.layers import check_square_image, init_dcgan_weights_

__all__ = ["DCGANGenerator", "DCGANDiscriminator", "spatial_plan"]


def spatial_plan(image_size: int) -> tuple[int, int]:
    """(start size s0, number of ×2 stages n) with s0 · 2^n = image_size and n >= 1."""
    start, stages = image_size, 0
    while start % 2 == 0 and start > 4:
        start //= 2
        stages += 1
    if stages == 0:
        raise ValueError(f"image_size={image_size} cannot be reached by ×2 upsampling; use 28, 32, 64 or 128")
    return start, stages


GeneratorNorm = Literal["batch", "virtual_batch"]


class DCGANGenerator(nn.Module):
    """z (B, latent_dim) -> images (B, C, S, S) in [-1, 1]; ``image_shape`` = (C, S, S).

    Args:
        norm: ``"batch"`` (the paper's) or ``"virtual_batch"`` (Salimans et al. 2016, Sec. 3.5).
        reference_batch_size: N, the size of the virtual-batch-norm reference batch (ignored for ``"batch"``).
        reference_seed: seed of the reference z drawn at construction (N(0, I)); a model may replace it at
            fit start with ``set_reference`` (e.g. to draw it from its own latent prior).
    """

    def __init__(
        self,
        latent_dim: int = 100,
        image_shape: Sequence[int] = (3, 64, 64),
        base_channels: int = 64,
        norm: GeneratorNorm = "batch",
        reference_batch_size: int = 64,
        reference_seed: int = 0,
    ) -> None:
        super().__init__()
        if norm not in ("batch", "virtual_batch"):
            raise ValueError(f"unknown generator norm {norm!r}; use 'batch' or 'virtual_batch'")
        self.latent_dim = latent_dim
        self.norm, self.reference_seed = norm, reference_seed
        reference_z = None
        if norm == "virtual_batch":
            rng = torch.Generator().manual_seed(reference_seed)
            reference_z = torch.randn(reference_batch_size, latent_dim, generator=rng)  # (N, Z)
        self.register_buffer("reference_z", reference_z)  # None (not in the state dict) for batch norm

        def norm_layer(width: int) -> nn.Module:
            if norm == "virtual_batch":
                return VirtualBatchNorm(width, reference_batch_size)
            return nn.BatchNorm2d(width)

        self.image_shape = check_square_image(image_shape)
        channels, image_size, _ = self.image_shape
        start, stages = spatial_plan(image_size)
        width = base_channels * 2 ** (stages - 1)
        # "project and reshape": (B, Z, 1, 1) -> (B, width, s0, s0)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, width, start, 1, 0, bias=False),
            norm_layer(width),
            nn.ReLU(True),
        ]
        for _ in range(stages - 1):  # each stage doubles H, W and halves the width
            layers += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                norm_layer(width // 2),
                nn.ReLU(True),
            ]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]  # no BN on the output
        self.net = nn.Sequential(*layers)
        init_dcgan_weights_(self)

    @torch.no_grad()
    def set_reference(self, z: Tensor) -> None:
        """Replace the virtual-batch-norm reference inputs (N, latent_dim) in place."""
        if self.reference_z is None:
            raise ValueError("set_reference needs norm='virtual_batch'")
        if z.shape != self.reference_z.shape:
            raise ValueError(f"reference z must have shape {tuple(self.reference_z.shape)}, got {tuple(z.shape)}")
        self.reference_z.copy_(z)

    def forward(self, z: Tensor) -> Tensor:
        if self.reference_z is None:
            return self.net(z.view(z.shape[0], -1, 1, 1))  # (B, C, S, S)
        n = self.reference_z.shape[0]
        z_all = torch.cat([self.reference_z.to(z.dtype), z.view(z.shape[0], -1)])  # (N + B, Z): reference first
        return self.net(z_all.view(z_all.shape[0], -1, 1, 1))[n:]  # (B, C, S, S): the live examples only


class DCGANDiscriminator(nn.Module):
    """images (B, C, S, S) -> logits (B,); ``features`` gives a hidden map, flattened.

    Args:
        feature_layer: which conv stage's output ``features`` returns (0 = the first, −1 = the last hidden
            map, the default); feature matching (Salimans et al. 2016, Sec. 3.1) reads that layer.
    """

    def __init__(self, image_shape: Sequence[int] = (3, 64, 64), base_channels: int = 64, feature_layer: int = -1) -> None:
        super().__init__()
        self.image_shape = check_square_image(image_shape)
        channels, image_size, _ = self.image_shape
        start, stages = spatial_plan(image_size)
        layers: list[nn.Module] = [nn.Conv2d(channels, base_channels, 4, 2, 1), nn.LeakyReLU(0.2, True)]  # no BN on input
        stage_ends = [len(layers)]
        width = base_channels
        for _ in range(stages - 1):
            layers += [
                nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width * 2),
                nn.LeakyReLU(0.2, True),
            ]
            stage_ends.append(len(layers))
            width *= 2
        if not -len(stage_ends) <= feature_layer < len(stage_ends):
            raise ValueError(f"feature_layer={feature_layer} is out of range: this discriminator has {len(stage_ends)} conv stages")
        self.feature_end = stage_ends[feature_layer]  # body[:feature_end] computes the feature layer
        self.body = nn.Sequential(*layers)  # (B, width, s0, s0)
        self.head = nn.Conv2d(width, 1, start, 1, 0)  # (B, 1, 1, 1): one logit, no sigmoid
        init_dcgan_weights_(self)

    def features(self, x: Tensor) -> Tensor:
        return self.body[: self.feature_end](x).flatten(1)  # (B, width·s·s) of the chosen stage (feature matching)

    def last_hidden(self, x: Tensor) -> Tensor:
        return self.body(x).flatten(1)  # (B, width·s0·s0): the head's input, whatever ``feature_layer`` picks

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x)).flatten()  # (B,) logits
