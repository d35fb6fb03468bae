"""Evaluation metrics with recorded protocols (see ``protocol.py``).

* Domain metrics for the MNIST family, offline: a small shipped classifier (``classifier.py``) gives
  domain FID, domain Inception Score and class coverage.
* The standard Inception FID / IS through torchmetrics + torch-fidelity (``extractors.py``), float64.
* Mode coverage for the 2-D toy mixtures, precision / recall for the swiss roll (``modes.py``).
* ``MetricSuite`` computes several at once; every result is a ``MetricResult`` with its ``Protocol``.
"""

from gan_zoo.metrics.classifier import DomainClassifier, classify, load_domain_classifier
from gan_zoo.metrics.extractors import (
    DomainExtractor,
    InceptionExtractor,
    StandInInceptionBackbone,
    resolve_inception_weights,
)
from gan_zoo.metrics.modes import (
    ModeCoverage,
    PrecisionRecall,
    mode_coverage,
    precision_recall,
    toy_mode_coverage,
    toy_precision_recall,
)
from gan_zoo.metrics.protocol import MetricResult, Protocol
from gan_zoo.metrics.reference import load_split
from gan_zoo.metrics.scores import FrechetDistance, class_coverage, frechet_distance, inception_score
from gan_zoo.metrics.suite import (
    METRIC_REGISTRY,
    METRICS,
    MetricSpec,
    MetricSuite,
    domain_class_coverage,
    domain_fid,
    domain_inception_score,
    register_metric,
)

__all__ = [
    "DomainClassifier",
    "DomainExtractor",
    "FrechetDistance",
    "InceptionExtractor",
    "METRICS",
    "METRIC_REGISTRY",
    "MetricSpec",
    "MetricResult",
    "MetricSuite",
    "ModeCoverage",
    "Protocol",
    "StandInInceptionBackbone",
    "class_coverage",
    "classify",
    "domain_class_coverage",
    "domain_fid",
    "domain_inception_score",
    "frechet_distance",
    "inception_score",
    "load_domain_classifier",
    "load_split",
    "register_metric",
    "mode_coverage",
    "resolve_inception_weights",
    "toy_mode_coverage",
    "PrecisionRecall",
    "precision_recall",
    "toy_precision_recall",
]
