"""Mode coverage on 2-D Gaussian mixtures (the toy mode-collapse protocol), and precision / recall for toy
distributions without discrete modes (the swiss roll).

Protocol (as in the unrolled-GAN and VEEGAN toy studies, with their 3σ radius):
* a sample is *high quality* if it lies within 3σ (Euclidean distance) of some mode centre, where σ is
  the mixture components' standard deviation;
* a mode is *covered* if at least one sample lies within 3σ of it;
* reported: the number of modes covered (out of K) and the share of high-quality samples.

With σ = 0.02 on the 8-Gaussian ring (radius 2) and σ = 0.05 on the 25-Gaussian grid (spacing 2), the
3σ discs do not overlap, so each sample counts for at most one mode.

Precision and recall (Kynkäänniemi et al., "Improved Precision and Recall Metric for Assessing Generative
Models", NeurIPS 2019, Sec. 2), here on the 2-D points themselves rather than on image features: each point φ of
a set Φ gets a ball of radius NN_k(φ, Φ), the distance to its k-th nearest other point of Φ (k = 3, the paper's
choice); the set's manifold is the union of the balls, f(φ', Φ) = 1 if φ' lies in some ball (Eq. 1);

    precision = mean over generated φ_g of f(φ_g, Φ_real)     (Eq. 2: how many samples look real)
    recall    = mean over real φ_r of f(φ_r, Φ_generated)

A collapsed generator has high precision and low recall; a blurry one the opposite.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["ModeCoverage", "mode_coverage", "toy_mode_coverage", "PrecisionRecall", "precision_recall", "toy_precision_recall"]


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


@dataclass(frozen=True)
class PrecisionRecall:
    """Kynkäänniemi et al. 2019: ``precision`` the share of generated points inside the real manifold estimate,
    ``recall`` the share of real points inside the generated one; ``k`` the neighbour that sets each radius."""

    precision: float
    recall: float
    k: int


def _inside_manifold(queries: Tensor, support: Tensor, k: int) -> Tensor:
    """f(q, Φ) for each query (N,) bool: q lies within NN_k(φ, Φ) of some φ in ``support`` (M, D)."""
    # Distance of each support point to its k-th nearest *other* support point: the k+1-th smallest in its
    # row of the (M, M) distance matrix, whose smallest entry is the point itself (0).
    radii = torch.cdist(support, support).kthvalue(k + 1, dim=1).values  # (M,)
    return (torch.cdist(queries, support) <= radii[None, :]).any(dim=1)  # (N, M) -> (N,)


def precision_recall(samples: Tensor, reference: Tensor, k: int = 3) -> PrecisionRecall:
    """Improved precision and recall of ``samples`` (N, D) against ``reference`` (M, D), in float64.

    Both sets need more than ``k`` points. Memory is O(N·M): a few thousand points per set, as in the toy
    protocol.
    """
    if samples.dim() != 2 or reference.dim() != 2 or samples.shape[1] != reference.shape[1]:
        raise ValueError(f"samples (N, D) and reference (M, D) must share D; got {tuple(samples.shape)} and {tuple(reference.shape)}")
    if k < 1 or min(len(samples), len(reference)) <= k:
        raise ValueError(f"k must be >= 1 and both sets need more than k = {k} points; got {len(samples)} and {len(reference)}")
    fake = samples.detach().to(torch.float64).cpu()
    real = reference.detach().to(torch.float64).cpu()
    return PrecisionRecall(
        precision=float(_inside_manifold(fake, real, k).double().mean()),
        recall=float(_inside_manifold(real, fake, k).double().mean()),
        k=k,
    )


def toy_precision_recall(samples: Tensor, distribution: str, num_reference: int | None = None, seed: int = 1, k: int = 3) -> PrecisionRecall:
    """``precision_recall`` against a fresh draw from a named ``gan_zoo.data.toy`` distribution: ``num_reference``
    points (default: as many as ``samples``) drawn with ``seed`` (default 1, apart from the data modules' seed 0,
    so the reference is not the training sample)."""
    from gan_zoo.data.toy import sample_toy

    reference = sample_toy(distribution, num_reference or len(samples), seed=seed)  # type: ignore[arg-type]
    return precision_recall(samples, reference, k)
