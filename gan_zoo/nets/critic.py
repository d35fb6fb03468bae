"""A DCGAN-layout critic without batch norm, for gradient-penalty training (Gulrajani et al. 2017).

The penalty constrains ‖∇_x D(x)‖ per sample, which is only meaningful when D's output for one sample
does not depend on the rest of the batch; batch norm breaks that. Sec. 4 of the paper therefore drops
batch norm from the critic and recommends layer normalization in its place.

Layout as ``DCGANDiscriminator`` (strided 4×4 convolutions, LeakyReLU(0.2), one score from a conv whose
kernel covers the last map, no sigmoid); the normalization after each hidden conv but the first is:
* ``"layer"``: layer norm over (C, H, W) of each sample, with a per-channel scale and shift
  (``GroupNorm(1, C)``, which normalizes exactly the layer-norm axes);
* ``"none"``: no normalization.
"""

from __future__ import annotations

from typing import Literal, Sequence

from torch import Tensor, nn

from gan_zoo.nets.dcgan import spatial_plan
from gan_zoo.nets.layers import check_square_image, init_dcgan_weights_

__all__ = ["DCGANCritic"]

CriticNorm = Literal["layer", "none"]


class DCGANCritic(nn.Module):
    """images (B, C, S, S) -> critic scores (B,), no batch-dependent layers."""

    def __init__(
        self, image_shape: Sequence[int] = (3, 64, 64), base_channels: int = 64, norm: CriticNorm = "layer"
    ) -> None:
        super().__init__()
        if norm not in ("layer", "none"):
            raise ValueError(f"unknown critic norm {norm!r}; use 'layer' or 'none' (never batch norm with a gradient penalty)")
        self.image_shape = check_square_image(image_shape)
        channels, image_size, _ = self.image_shape
        start, stages = spatial_plan(image_size)
        layers: list[nn.Module] = [nn.Conv2d(channels, base_channels, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        width = base_channels
        for _ in range(stages - 1):  # each stage halves H, W and doubles the width
            layers.append(nn.Conv2d(width, width * 2, 4, 2, 1, bias=norm == "none"))
            if norm == "layer":
                layers.append(nn.GroupNorm(1, width * 2))  # per-sample statistics over (C, H, W)
            layers.append(nn.LeakyReLU(0.2, True))
            width *= 2
        self.body = nn.Sequential(*layers)  # (B, width, s0, s0)
        self.head = nn.Conv2d(width, 1, start, 1, 0)  # (B, 1, 1, 1): one unbounded score
        init_dcgan_weights_(self)
        for m in self.modules():  # init_dcgan_weights_ randomizes only batch-norm scales; keep LN at (1, 0)
            if isinstance(m, nn.GroupNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x).flatten(1)  # (B, width·s0·s0)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x)).flatten()  # (B,) scores
