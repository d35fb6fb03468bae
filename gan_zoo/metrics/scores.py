"""The score formulas, in float64: Fréchet distance, Inception Score, class coverage.

* Fréchet distance between N(μ1, Σ1) and N(μ2, Σ2) (Heusel et al. 2017, Eq. 6 / Dowson & Landau 1982):

      d² = ||μ1 − μ2||² + Tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^{1/2})

  Tr((Σ1 Σ2)^{1/2}) is computed as Σ_i sqrt(λ_i) over the eigenvalues λ_i of the symmetric PSD matrix
  Σ1^{1/2} Σ2 Σ1^{1/2} (same spectrum as Σ1 Σ2), with ``eigh`` in float64 and tiny negative round-off
  eigenvalues clamped to 0: no complex square roots, no ``sqrtm`` iteration.

* ``FrechetDistance``: torchmetrics' ``FrechetInceptionDistance`` (feature accumulation, DDP sync, cached real
  statistics via ``reset_real_features=False``). Its running sums are float64 already (``.double()``
  states, features cast with ``.double()`` before accumulating), but its ``compute`` casts the result back
  to the extractor's dtype (float32); this subclass computes and returns the value in float64 with the
  formula above.

* Inception Score (Salimans et al. 2016): IS = exp(E_x KL(p(y|x) || p(y))), computed per split of the samples
  (after a seeded shuffle, so class-sorted samples do not bias it) with p(y) the split's mean prediction; the
  result is the mean and the population std over splits. torchmetrics' ``InceptionScore`` is not used:
  it shuffles with the unseeded global RNG, works in float32 and reports the Bessel-corrected std.

* Class coverage: how many classes a classifier finds among the samples (a class counts when it holds at least
  10 % of its uniform share, so stray misclassifications do not count), and KL(histogram || uniform) — 0 for
  perfectly balanced classes, log(K) when every sample falls in one class.

* Label accuracy and code accuracy: how well the label a conditional generator was given controls what it draws,
  judged by a classifier. Label accuracy counts samples classified as the label they were drawn with (a cGAN's
  class, Mirza & Osindero 2014). Code accuracy first matches each label value to one class, the one-to-one matching
  that agrees with the most samples (the Hungarian method, ``scipy.optimize.linear_sum_assignment``), then counts
  agreement under it: InfoGAN's categorical code is learned without labels, so code value 3 may draw the digit 7
  (Chen et al. 2016 report 5 % error on MNIST this way, with their matching of code values to digits).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torchmetrics.image.fid import FrechetInceptionDistance

from gan_zoo.errors import GanZooError

__all__ = ["frechet_distance", "FrechetDistance", "inception_score", "inception_score_terms", "class_coverage", "mean_cov",
           "label_table", "label_accuracy", "code_accuracy"]


def mean_cov(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean (D,) and unbiased covariance (D, D) of features (N, D), in float64."""
    f = features.double()
    mu = f.mean(0)
    centred = f - mu
    return mu, centred.T @ centred / (f.shape[0] - 1)


def _psd_sqrt(sigma: Tensor) -> Tensor:
    w, v = torch.linalg.eigh(sigma)
    return (v * w.clamp_min(0).sqrt()) @ v.T


def frechet_distance(mu1: Tensor, sigma1: Tensor, mu2: Tensor, sigma2: Tensor) -> Tensor:
    """d² between two Gaussians; float64 scalar tensor (see module docstring)."""
    mu1, mu2, sigma1, sigma2 = (t.double() for t in (mu1, mu2, sigma1, sigma2))
    root1 = _psd_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1
    middle = (middle + middle.T) / 2  # exact symmetry for eigh
    trace_sqrt = torch.linalg.eigvalsh(middle).clamp_min(0).sqrt().sum()
    return (mu1 - mu2).square().sum() + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt


class FrechetDistance(FrechetInceptionDistance):
    """torchmetrics FID over any extractor (``feature=`` a module with int ``num_features``), computed in
    float64. ``statistics(real)`` gives (μ, Σ) from the float64 running sums."""

    def statistics(self, real: bool) -> tuple[Tensor, Tensor]:
        prefix = "real" if real else "fake"
        total: Tensor = getattr(self, f"{prefix}_features_sum")
        outer: Tensor = getattr(self, f"{prefix}_features_cov_sum")
        n = getattr(self, f"{prefix}_features_num_samples").double()
        mu = total / n
        # Σ = (Σ_i f_i f_iᵀ − n μ μᵀ) / (n − 1), as torchmetrics does, from the float64 sums
        return mu, (outer - n * torch.outer(mu, mu)) / (n - 1)

    def compute(self) -> Tensor:
        if self.real_features_num_samples < 2 or self.fake_features_num_samples < 2:
            raise GanZooError(
                f"FID needs at least 2 real and 2 generated samples, got {int(self.real_features_num_samples)} "
                f"and {int(self.fake_features_num_samples)}; use thousands (FID is biased upward for small N)"
            )
        return frechet_distance(*self.statistics(real=True), *self.statistics(real=False))


def inception_score(logits: Tensor, splits: int = 10, shuffle_seed: int | None = None) -> tuple[float, float]:
    """(mean, std) of exp(E KL(p(y|x) || p(y))) over ``splits`` consecutive splits of logits (N, K).

    ``shuffle_seed``: permute the samples first with this seed. Needed whenever the order is not random:
    class-sorted samples from a conditional model would otherwise put one or two classes in each split
    and shrink every split's score toward 1.
    """
    if logits.shape[0] < splits:
        raise ValueError(f"Inception Score needs at least `splits`={splits} samples, got {logits.shape[0]}")
    if shuffle_seed is not None:
        logits = logits[torch.randperm(len(logits), generator=torch.Generator().manual_seed(shuffle_seed))]
    # E_x KL(p(y|x) || p(y)) = H(y) − E_x H(y|x) on each split
    s = torch.tensor([math.exp(h - h_cond) for h, h_cond in map(inception_score_terms, logits.tensor_split(splits, dim=0))], dtype=torch.float64)
    return float(s.mean()), float(s.std(unbiased=False))


def inception_score_terms(logits: Tensor) -> tuple[float, float]:
    """(H(y), E_x H(y|x)) in nats over all of logits (N, K): IS = exp(H(y) − E_x H(y|x)) on one split.

    The two ways a score falls short of K: H(y) < log K when the classes are unevenly drawn (diversity),
    E_x H(y|x) > 0 when single samples are ambiguous to the classifier (quality). ``scripts/is_terms.py``
    prints them for trained models.
    """
    log_p = logits.double().log_softmax(dim=1)  # log p(y|x), (N, K)
    p = log_p.exp()
    conditional = -torch.where(p > 0, p * log_p, torch.zeros_like(p)).sum(1)  # H(y|x) per sample, (N,)
    marginal = p.mean(0)  # p(y), (K,)
    entropy = -torch.where(marginal > 0, marginal * marginal.log(), torch.zeros_like(marginal)).sum()
    return float(entropy), float(conditional.mean())


def class_coverage(labels: Tensor, num_classes: int, min_share: float = 0.1) -> dict:
    """Class coverage of predicted labels (N,) over K classes.

    A class counts as covered when it holds at least ``min_share`` of its uniform share of the samples
    (count >= min_share * N / K), so a handful of classifier mistakes on a collapsed generator do not
    count as "covered" classes. Also returns KL(histogram || uniform) in nats (0 = balanced, log K = one class).
    """
    counts = torch.bincount(labels.long().flatten(), minlength=num_classes).double()
    n = counts.sum()
    p = counts / n
    nonzero = p > 0
    kl = float((p[nonzero] * (p[nonzero] * num_classes).log()).sum())  # Σ p log(p / (1/K))
    covered = int((counts >= min_share * n / num_classes).sum())
    return {
        "classes_covered": covered,
        "coverage": covered / num_classes,
        "min_share": min_share,
        "kl_from_uniform": kl,
        "max_kl": math.log(num_classes),
        "histogram": counts.long().tolist(),
    }


def label_table(labels: Tensor, predicted: Tensor, num_classes: int) -> Tensor:
    """(L, K) int64 counts: row l, column k = samples drawn with label l that the classifier calls class k.

    L = max(labels) + 1 label values (InfoGAN's code may take more or fewer values than there are classes)."""
    labels, predicted = labels.long().flatten().cpu(), predicted.long().flatten().cpu()
    if labels.shape != predicted.shape:
        raise GanZooError(f"{len(labels)} labels for {len(predicted)} classified samples; give one label per sample")
    if len(labels) == 0 or int(labels.min()) < 0:
        raise GanZooError("labels must be a non-empty set of integers >= 0")
    num_labels = int(labels.max()) + 1
    return torch.bincount(labels * num_classes + predicted, minlength=num_labels * num_classes).view(num_labels, num_classes)


def label_accuracy(labels: Tensor, predicted: Tensor, num_classes: int) -> dict:
    """Share of samples classified as the label they were drawn with, overall (``accuracy``) and per label."""
    table = label_table(labels, predicted, num_classes)
    if table.shape[0] > num_classes:
        raise GanZooError(f"labels up to {table.shape[0] - 1} for a {num_classes}-class classifier; label accuracy "
                          "needs labels that name its classes (code_accuracy matches other label sets)")
    drawn = table.sum(1)  # (L,)
    hits = table.diagonal()
    per_label = [h / d if d else None for h, d in zip(hits.tolist(), drawn.tolist())]  # Python ints: exact division
    return {"accuracy": int(hits.sum()) / int(drawn.sum()), "per_label": per_label, "table": table.tolist()}


def code_accuracy(labels: Tensor, predicted: Tensor, num_classes: int) -> dict:
    """Share of samples whose class is the one matched to their label value, under the one-to-one matching of
    label values to classes with the most agreeing samples. ``code_to_class[l]`` is label l's class (-1 when
    there are more label values than classes and l was left unmatched: its samples count as misses)."""
    from scipy.optimize import linear_sum_assignment

    table = label_table(labels, predicted, num_classes)
    rows, cols = linear_sum_assignment(table.numpy(), maximize=True)
    code_to_class = [-1] * table.shape[0]
    for row, col in zip(rows.tolist(), cols.tolist()):
        code_to_class[row] = col
    matched = int(table[torch.as_tensor(rows), torch.as_tensor(cols)].sum())
    return {"accuracy": matched / int(table.sum()), "code_to_class": code_to_class, "table": table.tolist()}
