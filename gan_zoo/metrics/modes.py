"""Mode coverage on 2-D Gaussian mixtures (the toy mode-collapse protocol).

Protocol (as in the unrolled-GAN and VEEGAN toy studies, with their 3σ radius):
* a sample is *high quality* if it lies within 3σ (Euclidean distance) of some mode centre, where σ is
  the mixture components' standard deviation;
* a mode is *covered* if at least one sample lies within 3σ of it;
* reported: the number of modes covered (out of K) and the share of high-quality samples.

With σ = 0.02 on the 8-Gaussian ring (radius 2) and σ = 0.05 on the 25-Gaussian grid (spacing 2), the
3σ discs do not overlap, so each sample counts for at most one mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["ModeCoverage", "mode_coverage", "toy_mode_coverage"]


@dataclass(frozen=True)
class ModeCoverage:
    """``modes_covered`` of ``num_modes`` modes have a sample within the radius; ``high_quality`` is the
    share of samples within the radius of some mode; ``counts`` the samples per mode (K,)."""

    modes_covered: int
    num_modes: int
    high_quality: float
    counts: tuple[int, ...]


def mode_coverage(samples: Tensor, modes: Tensor, std: float, num_std: float = 3.0) -> ModeCoverage:
    """Count covered modes and the high-quality share of ``samples`` (N, 2) for mode centres (K, 2).

    Args:
        samples: generated points (N, D).
        modes: the mixture's centres (K, D).
        std: the components' standard deviation σ.
        num_std: the radius in units of σ (3 by the protocol).
    """
    if samples.dim() != 2 or modes.dim() != 2 or samples.shape[1] != modes.shape[1]:
        raise ValueError(f"samples (N, D) and modes (K, D) must share D; got {tuple(samples.shape)} and {tuple(modes.shape)}")
    if len(samples) == 0:
        raise ValueError("no samples given")
    x = samples.detach().to(torch.float64).cpu()
    centres = modes.detach().to(torch.float64).cpu()
    dist = torch.cdist(x, centres)  # (N, K)
    nearest, which = dist.min(dim=1)  # (N,)
    close = nearest <= num_std * std  # (N,) high-quality samples
    counts = torch.bincount(which[close], minlength=len(centres))  # (K,) samples assigned to each mode
    return ModeCoverage(
        modes_covered=int((counts > 0).sum()),
        num_modes=len(centres),
        high_quality=float(close.double().mean()),
        counts=tuple(int(c) for c in counts),
    )


def toy_mode_coverage(samples: Tensor, distribution: str, num_std: float = 3.0) -> ModeCoverage:
    """``mode_coverage`` for a named ``gan_zoo.data.toy`` mixture (``"gaussians8"``/``"gaussians25"``)."""
    from gan_zoo.data.toy import MODE_STD, toy_modes

    if distribution not in MODE_STD:
        raise ValueError(f"{distribution!r} has no discrete modes; use one of {sorted(MODE_STD)}")
    return mode_coverage(samples, toy_modes(distribution), MODE_STD[distribution], num_std)
