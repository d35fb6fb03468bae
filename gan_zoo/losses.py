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
    "class_logits_to_real_logit",
    "semi_supervised_losses",
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


def feature_matching_loss(real_features: Tensor, fake_features: Tensor, reduction: Literal["sum", "mean"] = "sum") -> Tensor:
    """‖E_x f(x) − E_z f(G(z))‖²₂ over an intermediate D layer (Salimans et al. 2016, Sec. 3.1).

    Shapes: (B, ...) each; the batch means are compared over all remaining dimensions F.
    ``reduction="mean"`` divides by F (the authors' code); with Adam that only changes how the gradients
    compare with the optimizer's ε.
    """
    squared = (real_features.flatten(1).mean(0) - fake_features.flatten(1).mean(0)).pow(2)  # (F,)
    return squared.sum() if reduction == "sum" else squared.mean()


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


# ---------------------------------------------------------------------------------------- semi-supervised GAN
# Salimans et al. 2016, Sec. 5: D is a K-class classifier with logits l_1..l_K; the generated images are the
# implicit class K+1 with logit fixed at 0, so
#     p(y = K+1 | x) = 1 / (Z(x) + 1),   D(x) = 1 − p(y = K+1 | x) = Z(x) / (Z(x) + 1),   Z(x) = Σ_k exp l_k(x)
# i.e. D(x) = σ(logsumexp(l(x))): the real/fake logit is logsumexp(l), and
#     log D(x) = lse(l) − softplus(lse(l)),   log(1 − D(x)) = −softplus(lse(l)).
# L = L_supervised + L_unsupervised, with
#     L_supervised   = −E_{x,y ~ labelled} log p(y | x, y < K+1)          (softmax cross-entropy on l)
#     L_unsupervised = −E_{x ~ data} log D(x) − E_{z} log(1 − D(G(z)))     (= d_bce_loss on lse(l))


def class_logits_to_real_logit(class_logits: Tensor) -> Tensor:
    """(B, K) class logits -> (B,) real/fake logit lse(l), so D(x) = σ(lse(l)) = Z / (Z + 1)."""
    return torch.logsumexp(class_logits, dim=1)


def semi_supervised_losses(
    labelled_logits: Tensor, labels: Tensor, unlabelled_logits: Tensor, fake_logits: Tensor
) -> tuple[Tensor, Tensor]:
    """(L_supervised, L_unsupervised) of Salimans et al. 2016, Sec. 5, from (B, K) class logits.

    Args:
        labelled_logits: logits of the labelled batch, (B_l, K); ``labels`` its classes (B_l,).
        unlabelled_logits: logits of real images used without labels, (B_u, K).
        fake_logits: logits of G(z), (B_f, K).
    """
    supervised = F.cross_entropy(labelled_logits, labels)
    unsupervised = d_bce_loss(class_logits_to_real_logit(unlabelled_logits), class_logits_to_real_logit(fake_logits))
    return supervised, unsupervised
