"""Adversarial losses as pure functions of discriminator logits (no sigmoid inside D).

Notation: ``l_r = D(x)`` and ``l_f = D(G(z))`` are logits, ``σ`` the sigmoid, so ``D_prob = σ(l)``.
Every function returns a scalar mean over the batch.

Goodfellow et al. 2014, Eq. 1:  min_G max_D  E_x[log σ(l_r)] + E_z[log(1 − σ(l_f))]
  * discriminator loss  (ascends Eq. 1)        : −log σ(l_r) − log(1 − σ(l_f)) = softplus(−l_r) + softplus(l_f)
  * minimax G loss      (descends Eq. 1)       :  log(1 − σ(l_f))              = −softplus(l_f)
  * non-saturating G loss (Sec. 3, "maximize log D(G(z))"): −log σ(l_f)         = softplus(−l_f)
"""

from __future__ import annotations

import math
from typing import Callable, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "d_bce_loss",
    "g_nonsaturating_loss",
    "g_minimax_loss",
    "G_LOSSES",
    "GeneratorLossName",
    "feature_matching_loss",
    "info_categorical_loss",
    "info_gaussian_nll",
]


def d_bce_loss(real_logits: Tensor, fake_logits: Tensor, real_target: float = 1.0) -> Tensor:
    """Discriminator binary cross-entropy on logits.

    ``real_target < 1`` is one-sided label smoothing (Salimans et al. 2016, Sec. 3.4): only the real
    target is smoothed (e.g. 0.9), fake stays 0.
    """
    real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_target))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def g_nonsaturating_loss(fake_logits: Tensor) -> Tensor:
    """−E[log D(G(z))] = E[softplus(−l_f)]: strong gradients early in training (Goodfellow 2014, Sec. 3)."""
    return F.softplus(-fake_logits).mean()


def g_minimax_loss(fake_logits: Tensor) -> Tensor:
    """E[log(1 − D(G(z)))] = −E[softplus(l_f)]: the original minimax objective (saturates when D wins)."""
    return -F.softplus(fake_logits).mean()


GeneratorLossName = Literal["nonsaturating", "minimax"]
G_LOSSES: dict[str, Callable[[Tensor], Tensor]] = {
    "nonsaturating": g_nonsaturating_loss,
    "minimax": g_minimax_loss,
}


def feature_matching_loss(real_features: Tensor, fake_features: Tensor) -> Tensor:
    """‖E_x f(x) − E_z f(G(z))‖²₂ over an intermediate D layer (Salimans et al. 2016, Sec. 3.1).

    Shapes: (B, ...) each; the batch means are compared over all remaining dimensions.
    """
    return (real_features.flatten(1).mean(0) - fake_features.flatten(1).mean(0)).pow(2).sum()


# ---------------------------------------------------------------------- Wasserstein (critic scores, not logits)
# Arjovsky et al. 2017, Eq. 3 and Algorithm 1: the critic f maximizes E_x[f(x)] − E_z[f(G(z))], an estimate
# of the Wasserstein-1 distance when f is 1-Lipschitz; G minimizes −E_z[f(G(z))].


def d_wasserstein_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Critic loss E[f(x̃)] − E[f(x)] (B,) scores each; its negation is the Wasserstein estimate."""
    return fake_scores.mean() - real_scores.mean()


def g_wasserstein_loss(fake_scores: Tensor) -> Tensor:
    """Generator loss −E[f(G(z))]."""
    return -fake_scores.mean()


__all__ += ["d_wasserstein_loss", "g_wasserstein_loss"]


# ---------------------------------------------------------------------------------------------------- info losses
# InfoGAN (Chen et al. 2016), Eq. 4-6: the variational lower bound of the mutual information I(c; G(z, c)) is
#     L_I(G, Q) = E_{c~P(c), x~G(z,c)}[log Q(c | x)] + H(c)  <=  I(c; G(z, c)).
# H(c) is a constant of the prior, so maximizing L_I is minimizing the negative log-likelihood −E[log Q(c|x)]
# of the code that generated x; the functions below return that NLL (a loss, ≥ 0 up to constants).


def info_categorical_loss(logits: Tensor, codes: Tensor) -> Tensor:
    """−E[log Q(c | x)] for one categorical code: softmax cross-entropy.

    Args:
        logits: Q's unnormalized log-probabilities, shape (B, K).
        codes: the sampled code values as class indices, shape (B,) (long).
    """
    return F.cross_entropy(logits, codes)


def info_gaussian_nll(mean: Tensor, log_var: Tensor, codes: Tensor) -> Tensor:
    """−E[log Q(c | x)] for continuous codes under a factored Gaussian Q(c | x) = Π_j N(c_j; μ_j, σ_j²).

        −log Q = Σ_j ½ [log 2π + log σ_j² + (c_j − μ_j)² / σ_j²]      (summed over the code dims j, mean over B)

    Args:
        mean: μ, shape (B, J).
        log_var: log σ², shape (B, J) (zeros for InfoGAN's fixed σ = 1; broadcasting is allowed).
        codes: the sampled continuous codes c, shape (B, J).
    """
    log_var = log_var.expand_as(mean)
    nll = 0.5 * (math.log(2 * math.pi) + log_var + (codes - mean).pow(2) * torch.exp(-log_var))  # (B, J)
    return nll.sum(dim=1).mean()
