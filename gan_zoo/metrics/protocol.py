"""How a number was made: every metric result carries its ``Protocol``.

GAN scores are only comparable when the extractor (and its exact weights), the sample counts, the
reference split, the resizing and the IS splits match. A ``MetricResult`` keeps all of these next to the
value, and ``as_dict()`` is what JSON reports and callback logs write.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Protocol", "MetricResult"]


@dataclass(frozen=True)
class Protocol:
    """Everything needed to reproduce (or refuse to compare) a metric value.

    Attributes:
        metric: a name from ``METRIC_REGISTRY`` (``domain_fid``, ``domain_is``, ``class_coverage``, ``label_accuracy``,
            ``code_accuracy``, ``fid``, ``is``, or one added with ``register_metric``).
        extractor: name of the feature/logit network (e.g. ``domain_classifier_mnist``).
        extractor_sha256: sha256 of the network's weights file (``None`` for an untrained stand-in).
        n_fake: generated samples used.
        n_real: real reference samples (``None`` for metrics without a reference: IS, coverage).
        reference: which real images, e.g. ``mnist:test[:10000]``.
        resize: how samples reached the extractor's input size.
        is_splits: number of splits for the Inception Score (``None`` otherwise).
        seed: the sampling seed of the generated images (``None`` if they came from elsewhere).
        statistics_dtype: dtype of the feature statistics and the final computation.
        notes: free-form extras (label scheme for conditional models, library versions, ...).
    """

    metric: str
    extractor: str
    extractor_sha256: str | None
    n_fake: int
    n_real: int | None = None
    reference: str | None = None
    resize: str = "none"
    is_splits: int | None = None
    seed: int | None = None
    statistics_dtype: str = "float64"
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricResult:
    """A metric value, optional spread (IS std over splits) and extras (coverage histogram), with protocol."""

    value: float
    protocol: Protocol
    std: float | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
