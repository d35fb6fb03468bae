"""Progressive GAN networks (Karras, Aila, Laine & Lehtinen, "Progressive Growing of GANs for Improved
Quality, Stability, and Variation", ICLR 2018): layers, the growing generator and discriminator, and the
real-image blending that matches them during a fade-in.

Layers (Sec. 3 and 4):
* equalized learning rate (Sec. 4.1): weights drawn from N(0, 1) and scaled at run time,
  ŵ = w · c with c = gain / √fan_in, gain = √2 (He et al.'s constant). Adam's update is then equally
  sized for every layer whatever its fan-in;
* pixelwise feature normalisation in G (Sec. 4.2, Eq. 2): b_{x,y} = a_{x,y} / √(1/N Σ_j (a^j_{x,y})² + ε),
  ε = 1e-8, N = number of channels, after every 3×3 conv (and on z: points on the unit hypersphere √N,
  Appendix A.1);
* minibatch standard deviation (Sec. 3): the std of every feature at every pixel over the minibatch,
  averaged into one number, appended to D's 4×4 maps as one constant extra channel.

Architecture (Appendix A.1, Table 2), leaky ReLU(0.2) everywhere but the output layers:
    G: z (B, Z) → pixelnorm → "conv 4×4" (a dense layer Z → W₄·4·4) → conv 3×3 → [4×4 block]
       → for each resolution r = 8 … R: nearest ×2 upsample, conv 3×3, conv 3×3      [r×r block]
       → toRGB (1×1 conv, linear) at the current resolution
    D: fromRGB (1×1 conv) → for r = R … 8: conv 3×3 (W_r → W_r), conv 3×3 (W_r → W_{r/2}), 2×2 avg-pool
       → minibatch stddev (+1 channel) → conv 3×3 → "conv 4×4" (dense W₄·16 → W₄) → dense → 1 score
    widths W_r = min(max_channels, channel_base / r): 512 up to 32×32, then 256, 128, 64, 32, 16 at 1024×1024
    (the authors' code: min(8192 / 2^(log2 r − 1), 512)); ``channel_base``/``max_channels`` shrink it for tests.

Growth (Sec. 3, Fig. 2). Stage s works at 4·2^s pixels. While block s fades in (0 < α < 1):
    G(z) = (1 − α) · upsample(toRGB_{s−1}(h_{s−1})) + α · toRGB_s(block_s(upsample(h_{s−1})))
    D(x) = rest_{s−1}((1 − α) · fromRGB_{s−1}(avgpool(x)) + α · block_s(fromRGB_s(x)))
and the real images D sees are blended the same way (``real_images_at``). Stage and α are arguments of
``forward``, never buffers: the EMA copy of G averages buffers, and an averaged integer truncates. Their
defaults (final stage, α = 1) make ``G(z)`` the finished full-resolution generator.

Deviations (the authors' code, where the paper is silent):
* toRGB and D's last dense layer use gain 1 (linear outputs); G's first dense layer uses gain √2/4, which is
  exactly He's constant of the paper's 4×4 conv on a padded 1×1 input (fan-in 16·Z).
* Minibatch stddev groups the whole minibatch by default, as the paper's text says; the authors' code uses
  groups of 4 (``group_size=4`` here).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_zoo.nets.layers import check_square_image

__all__ = [
    "EqualizedConv2d",
    "EqualizedLinear",
    "PixelNorm",
    "MinibatchStdDev",
    "ProGANGenerator",
    "ProGANDiscriminator",
    "progan_widths",
    "stage_count",
    "stage_resolution",
    "downsample",
    "upsample",
    "real_images_at",
]

HE_GAIN = math.sqrt(2.0)


class EqualizedLinear(nn.Module):
    """y = x (w·c)ᵀ + b with w ~ N(0, 1) stored and c = gain / √fan_in applied at run time (Sec. 4.1)."""

    def __init__(self, in_features: int, out_features: int, gain: float = HE_GAIN, bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.scale = gain / math.sqrt(in_features)  # a python float: not state, recomputed from the sizes

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[1]}, {self.weight.shape[0]}, scale={self.scale:.4g}"


class EqualizedConv2d(nn.Module):
    """Same-padded conv whose N(0, 1) weights are scaled by c = gain / √(C_in·k·k) at run time (Sec. 4.1)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, gain: float = HE_GAIN) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.scale = gain / math.sqrt(in_channels * kernel_size * kernel_size)
        self.padding = kernel_size // 2

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)

    def extra_repr(self) -> str:
        out_c, in_c, k, _ = self.weight.shape
        return f"{in_c}, {out_c}, kernel_size={k}, scale={self.scale:.4g}"


class PixelNorm(nn.Module):
    """Eq. 2: each pixel's feature vector divided by its root mean square over channels (dim 1)."""

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)  # (B, C, ...) → unit mean square


class MinibatchStdDev(nn.Module):
    """Sec. 3: append one channel holding the average over features and pixels of the minibatch std.

    For a group of G samples (the whole batch by default): σ_{c,h,w} = √(Var_g[x_{g,c,h,w}] + 1e-8) with the
    biased (1/G) variance, s = mean_{c,h,w} σ, and every sample of the group gets a constant map s.
    (B, C, H, W) → (B, C + 1, H, W).
    """

    def __init__(self, group_size: int | None = None, eps: float = 1e-8) -> None:
        super().__init__()
        if group_size is not None and group_size < 1:
            raise ValueError(f"group_size must be >= 1 or None (the whole batch), got {group_size}")
        self.group_size = group_size
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        g = b if self.group_size is None else min(self.group_size, b)
        if b % g:
            raise ValueError(f"minibatch stddev: batch {b} is not a multiple of the group size {g}")
        groups = x.view(g, b // g, c, h, w)  # sample i sits in group i % (B/G), as in the authors' code
        std = (groups.var(dim=0, unbiased=False) + self.eps).sqrt()  # (B/G, C, H, W)
        s = std.mean(dim=(1, 2, 3))  # (B/G,)
        feature = s.view(1, b // g, 1, 1, 1).expand(g, b // g, 1, h, w).reshape(b, 1, h, w)
        return torch.cat([x, feature.to(x.dtype)], dim=1)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size or 'batch'}"


# ---------------------------------------------------------------------------------------- resolutions
def stage_count(resolution: int) -> int:
    """Number of stages from 4×4 to ``resolution`` (a power of two >= 4): 4 → 1, 32 → 4, 1024 → 9."""
    if resolution < 4 or resolution & (resolution - 1):
        raise ValueError(f"ProGAN needs a power-of-two resolution >= 4 (4, 8, ..., 1024), got {resolution}")
    return int(math.log2(resolution)) - 1


def stage_resolution(stage: int) -> int:
    """Stage s works at 4·2^s pixels."""
    return 4 * 2**stage


def progan_widths(resolution: int, channel_base: int = 16384, max_channels: int = 512) -> list[int]:
    """Channel width of every stage, W_r = min(max_channels, channel_base / r) (Table 2 with the defaults)."""
    return [max(1, min(max_channels, channel_base // stage_resolution(s))) for s in range(stage_count(resolution))]


def upsample(x: Tensor, factor: int = 2) -> Tensor:
    """Nearest-neighbour upsampling (B, C, H, W) → (B, C, fH, fW)."""
    return x if factor == 1 else F.interpolate(x, scale_factor=factor, mode="nearest")


def downsample(x: Tensor, factor: int = 2) -> Tensor:
    """Average pooling over f×f blocks (B, C, H, W) → (B, C, H/f, W/f)."""
    return x if factor == 1 else F.avg_pool2d(x, factor)


def real_images_at(images: Tensor, stage: int, alpha: float = 1.0) -> Tensor:
    """Real images as D sees them at ``stage`` with fade-in weight ``alpha`` (Sec. 3, Fig. 2 and Appendix A.1).

    ``images`` (B, C, R, R) at the final resolution → (B, C, r, r), r = 4·2^stage: average-pooled to r,
    and during a fade-in blended with their r/2 version (average-pooled, then nearest-upsampled) exactly as
    G blends its two toRGB outputs: (1 − α)·up(down(x_r)) + α·x_r.
    """
    size = stage_resolution(stage)
    if images.shape[-1] % size or images.shape[-1] < size:
        raise ValueError(f"images of size {images.shape[-1]} cannot be pooled to stage {stage} ({size}×{size})")
    x = downsample(images, images.shape[-1] // size)  # (B, C, r, r)
    if stage == 0 or alpha >= 1.0:
        return x
    coarse = upsample(downsample(x))  # (B, C, r, r), the previous stage's image
    return (1.0 - alpha) * coarse + alpha * x


def _check_stage(stage: int | None, alpha: float, num_stages: int) -> int:
    stage = num_stages - 1 if stage is None else stage
    if not 0 <= stage < num_stages:
        raise ValueError(f"stage must be in [0, {num_stages - 1}], got {stage}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    return stage


def _fade(old: Tensor, new: Tensor, alpha: float) -> Tensor:
    # (1 − α)·old + α·new, written so that α = 0 gives exactly ``old`` and α = 1 exactly ``new``.
    return (1.0 - alpha) * old + alpha * new


# ---------------------------------------------------------------------------------------- generator
class ProGANGenerator(nn.Module):
    """z (B, latent_dim) → images (B, C, r, r) at stage s (r = 4·2^s); defaults: the final stage, α = 1.

    Args:
        latent_dim: size of z (512 in the paper).
        image_shape: (C, R, R) at the final resolution R (a power of two, 4 … 1024).
        channel_base, max_channels: widths W_r = min(max_channels, channel_base / r).
        normalize_latent: pixel-normalise z (Appendix A.1: latents on the hypersphere).
    """

    def __init__(
        self,
        latent_dim: int = 512,
        image_shape: Sequence[int] = (3, 1024, 1024),
        channel_base: int = 16384,
        max_channels: int = 512,
        normalize_latent: bool = True,
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.image_shape = check_square_image(image_shape)
        channels, resolution, _ = self.image_shape
        self.num_stages = stage_count(resolution)
        self.widths = progan_widths(resolution, channel_base, max_channels)
        self.latent_norm = PixelNorm() if normalize_latent else nn.Identity()
        w0 = self.widths[0]
        self.project = EqualizedLinear(latent_dim, w0 * 16, gain=HE_GAIN / 4)  # the 4×4 conv on 1×1 z
        self.blocks = nn.ModuleList([nn.Sequential(nn.LeakyReLU(0.2), PixelNorm(), *self._conv(w0, w0))])
        for s in range(1, self.num_stages):  # block s: (B, W_{s-1}, r/2, r/2) upsampled → (B, W_s, r, r)
            self.blocks.append(nn.Sequential(*self._conv(self.widths[s - 1], self.widths[s]), *self._conv(self.widths[s], self.widths[s])))
        self.to_rgb = nn.ModuleList([EqualizedConv2d(w, channels, 1, gain=1.0) for w in self.widths])

    @staticmethod
    def _conv(c_in: int, c_out: int) -> list[nn.Module]:
        return [EqualizedConv2d(c_in, c_out, 3), nn.LeakyReLU(0.2), PixelNorm()]

    def forward(self, z: Tensor, stage: int | None = None, alpha: float = 1.0) -> Tensor:
        """Training mode: the linear toRGB output (Appendix A.1), which D sees unclipped. Eval mode (sampling,
        metrics, exported generators): the same images clipped to the data range [-1, 1], as the authors'
        code clips when it writes images, so samples are valid images whatever the linear output overshoots."""
        images = self.linear_images(z, stage, alpha)
        return images if self.training else images.clamp(-1.0, 1.0)

    def linear_images(self, z: Tensor, stage: int | None = None, alpha: float = 1.0) -> Tensor:
        stage = _check_stage(stage, alpha, self.num_stages)
        h = self.project(self.latent_norm(z)).view(z.shape[0], self.widths[0], 4, 4)  # (B, W₄, 4, 4)
        h = self.blocks[0](h)
        for s in range(1, stage):
            h = self.blocks[s](upsample(h))  # (B, W_s, r_s, r_s)
        if stage == 0:
            return self.to_rgb[0](h)  # (B, C, 4, 4)
        new = self.to_rgb[stage](self.blocks[stage](upsample(h)))  # (B, C, r, r)
        if alpha >= 1.0:
            return new  # the old toRGB path is not even computed
        old = upsample(self.to_rgb[stage - 1](h))  # (B, C, r, r) from the previous stage's output
        return _fade(old, new, alpha)


# ---------------------------------------------------------------------------------------- discriminator
class ProGANDiscriminator(nn.Module):
    """images (B, C, r, r) at stage s → scores (B,); defaults: the final stage, α = 1.

    Args:
        image_shape: (C, R, R) at the final resolution R.
        channel_base, max_channels: widths as in ``ProGANGenerator``.
        mbstd_group_size: minibatch-stddev group (None: the whole batch, as in the paper's text).
    """

    def __init__(
        self,
        image_shape: Sequence[int] = (3, 1024, 1024),
        channel_base: int = 16384,
        max_channels: int = 512,
        mbstd_group_size: int | None = None,
    ) -> None:
        super().__init__()
        self.image_shape = check_square_image(image_shape)
        channels, resolution, _ = self.image_shape
        self.num_stages = stage_count(resolution)
        self.widths = progan_widths(resolution, channel_base, max_channels)
        self.from_rgb = nn.ModuleList(
            [nn.Sequential(EqualizedConv2d(channels, w, 1), nn.LeakyReLU(0.2)) for w in self.widths]
        )
        # blocks[s] for s >= 1: (B, W_s, r, r) → (B, W_{s-1}, r/2, r/2)
        self.blocks = nn.ModuleList([nn.Identity()])
        for s in range(1, self.num_stages):
            self.blocks.append(
                nn.Sequential(
                    EqualizedConv2d(self.widths[s], self.widths[s], 3), nn.LeakyReLU(0.2),
                    EqualizedConv2d(self.widths[s], self.widths[s - 1], 3), nn.LeakyReLU(0.2),
                    nn.AvgPool2d(2),
                )
            )
        w0 = self.widths[0]
        self.minibatch_std = MinibatchStdDev(mbstd_group_size)
        self.final_conv = nn.Sequential(EqualizedConv2d(w0 + 1, w0, 3), nn.LeakyReLU(0.2))  # (B, W₄, 4, 4)
        self.final_dense = nn.Sequential(EqualizedLinear(w0 * 16, w0), nn.LeakyReLU(0.2))  # the 4×4 "conv"
        self.score = EqualizedLinear(w0, 1, gain=1.0)

    def features(self, x: Tensor, stage: int | None = None, alpha: float = 1.0) -> Tensor:
        """(B, W₄) activations before the score layer."""
        stage = _check_stage(stage, alpha, self.num_stages)
        expected = stage_resolution(stage)
        if x.shape[-1] != expected or x.shape[-2] != expected:
            raise ValueError(f"stage {stage} expects {expected}×{expected} images, got {tuple(x.shape[-2:])}")
        h = self.from_rgb[stage](x)  # (B, W_s, r, r)
        if stage > 0:
            h = self.blocks[stage](h)  # (B, W_{s-1}, r/2, r/2)
            if alpha < 1.0:
                h = _fade(self.from_rgb[stage - 1](downsample(x)), h, alpha)
            for s in range(stage - 1, 0, -1):
                h = self.blocks[s](h)
        h = self.final_conv(self.minibatch_std(h))  # (B, W₄, 4, 4)
        return self.final_dense(h.flatten(1))  # (B, W₄)

    def forward(self, x: Tensor, stage: int | None = None, alpha: float = 1.0) -> Tensor:
        return self.score(self.features(x, stage, alpha)).flatten()  # (B,) critic scores
