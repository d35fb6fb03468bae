"""The one sampling protocol: how z and labels are drawn for ``sample(n, labels=None, seed=None)``.

``GANModule.sample`` and ``PretrainedGenerator.sample`` both call ``sampling_inputs``, so a model and the
pretrained generator exported from it give identical samples for the same seed.

* z comes from the training prior (``sample_latent``). A generator whose input is more than z defines
  ``draw_latent(n, prior, generator, device=None) -> Tensor`` (InfoGAN: [z, onehot(c_cat), c_cont], a
  layout that ``InfoGANGenerator`` alone owns); training calls it with the training device, so that the draw
  happens there instead of being copied from the host.
* A generator that takes labels exposes how many (``num_classes`` for cGAN nets, ``num_categories`` for
  InfoGAN's categorical code). Without explicit labels, ``balanced_labels`` chooses them: every class
  equally often and interleaved (0, 1, …, K−1, 0, 1, …), so any contiguous split of the samples (the
  Inception Score's splits, the batches of a metric) is balanced too.
* With a seed, z is drawn from ``torch.Generator().manual_seed(seed)`` on the CPU and moved after, so the
  samples do not depend on the device's RNG.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

__all__ = ["LatentPrior", "sample_latent", "label_count", "balanced_labels", "class_rows", "sampling_inputs"]

LatentPrior = Literal["normal", "uniform"]


def sample_latent(
    n: int,
    latent_dim: int,
    prior: LatentPrior = "normal",
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """z ~ N(0, I) or U(−1, 1)^latent_dim, shape (n, latent_dim), drawn on ``device`` (default: the
    ``generator``'s device, else the CPU). Training draws on the training device: a CPU draw copied to a GPU is
    a host-to-device copy from pageable memory, which waits for the GPU (issue 11)."""
    if device is None and generator is not None:
        device = generator.device
    if prior == "normal":
        return torch.randn(n, latent_dim, generator=generator, device=device)
    if prior == "uniform":
        return torch.rand(n, latent_dim, generator=generator, device=device) * 2 - 1
    raise ValueError(f"unknown latent prior {prior!r}; use 'normal' or 'uniform'")


def label_count(net: nn.Module) -> int | None:
    """How many label values ``net`` takes: cGAN nets' ``num_classes``, InfoGAN's ``num_categories``, else None."""
    for name in ("num_classes", "num_categories"):
        value = getattr(net, name, None)
        if isinstance(value, int):
            return value
    return None


def balanced_labels(n: int, num_classes: int) -> Tensor:
    """(n,) labels 0, 1, …, K−1, 0, 1, …: each class ⌊n/K⌋ or ⌈n/K⌉ times, interleaved."""
    return torch.arange(n) % num_classes


def class_rows(n: int, num_classes: int) -> Tensor:
    """``n`` labels laid out one class per grid row: rows of ceil(n / K) samples, class r in row r (the last
    row may be shorter; with n < K the first n classes get one sample each). Shape (n,), long."""
    per_row = max(1, math.ceil(n / num_classes))
    return torch.arange(n) // per_row


def sampling_inputs(
    net: nn.Module, n: int, prior: LatentPrior, labels: Tensor | None = None, seed: int | None = None
) -> tuple[Tensor, Tensor | None]:
    """(z (n, ...), labels (n,) or None) for ``n`` samples of ``net``, on the CPU.

    Raises ValueError for labels on a net that takes none, or labels of the wrong shape or range.
    """
    rng = torch.Generator().manual_seed(seed) if seed is not None else None
    draw = getattr(net, "draw_latent", None)
    z = draw(n, prior, rng) if callable(draw) else sample_latent(n, net.latent_dim, prior, rng)
    k = label_count(net)
    if k is None:
        if labels is not None:
            raise ValueError(f"{type(net).__name__} is unconditional: sample without labels")
        return z, None
    labels = balanced_labels(n, k) if labels is None else torch.as_tensor(labels, dtype=torch.long).cpu()
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape ({n},) to match n, got {tuple(labels.shape)}")
    if n and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(f"labels must be class indices in [0, {k - 1}], got values {labels.unique().tolist()}")
    return z, labels
