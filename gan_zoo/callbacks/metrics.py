"""Evaluation during ``fit``: chosen metrics every N generator steps on M samples, logged with protocols.

    gan-zoo fit --config configs/dcgan/mnist.yaml \
        --trainer.callbacks+=gan_zoo.callbacks.MetricsCallback \
        --trainer.callbacks.every_n_g_steps=500 --trainer.callbacks.num_samples=2000

Each evaluation scores ``num_samples`` samples through the same driver as ``gan-zoo evaluate``
(``gan_zoo.metrics.driver``: fixed seeds per batch, balanced labels for conditional models), so a value
logged at G step k is what ``gan-zoo evaluate`` reports for that step's checkpoint with the same options.
The real reference statistics are computed at the first evaluation and kept. Results are logged as
``metrics/<name>`` to every configured logger and appended, protocol included, to
``<log_dir>/metrics.jsonl``.
"""

from __future__ import annotations

import copy
import json
from typing import Literal

import lightning as L
import torch
from torch.utils.data import DataLoader

from gan_zoo.callbacks.periodic import PeriodicCallback, run_dir
from gan_zoo.errors import GanZooError
from gan_zoo.metrics.driver import score_generator
from gan_zoo.metrics.protocol import MetricResult
from gan_zoo.metrics.reference import DomainName, load_split
from gan_zoo.metrics.suite import DEFAULT_METRICS, DOMAIN_METRICS, METRIC_REGISTRY, MetricSuite, check_metric_names
from gan_zoo.sampling import label_count

__all__ = ["MetricsCallback"]


class MetricsCallback(PeriodicCallback):
    """Compute ``metrics`` every ``every_n_g_steps`` generator updates on ``num_samples`` samples.

    Args:
        metrics: names from ``gan_zoo.metrics.METRIC_REGISTRY``; default: the three domain metrics.
        every_n_g_steps: generator updates between evaluations (0: only at the end of fit).
        num_samples: generated samples per evaluation.
        num_real: real images for the reference statistics (the first ones of the split, fixed order).
        reference: ``"train"`` / ``"test"``: that split of the domain's dataset (MNIST family);
            ``"datamodule"``: the first ``num_real`` images of the trainer's training set, in order.
        domain: ``"mnist"`` / ``"fashion_mnist"``; default: the data module's ``metric_domain``.
        is_splits: Inception Score splits.
        seed: samples of evaluation k come from seeds seed, seed + 1, ... (one per batch), the same at
            every evaluation, so successive values differ only through the generator.
        batch_size: samples drawn and scored per call.
        inception_weights: local path of the Inception weights (for ``fid`` / ``is``).
        inception_backend: ``"torch-fidelity"`` or ``"fid-helper"`` (FID only); see ``MetricSuite``.
        at_train_end: also evaluate when fit ends.
        center_crop: score the central SxS pixels of each sample (data padded with ``image_fit: pad``, e.g. 28
            for MNIST padded to 32), as ``gan-zoo evaluate --center-crop``.
    """

    def __init__(
        self,
        metrics: list[str] | None = None,
        every_n_g_steps: int = 1000,
        num_samples: int = 2000,
        num_real: int = 10000,
        reference: Literal["train", "test", "datamodule"] = "train",
        domain: DomainName | None = None,
        is_splits: int = 10,
        seed: int = 0,
        batch_size: int = 500,
        inception_weights: str | None = None,
        inception_backend: Literal["torch-fidelity", "fid-helper"] = "torch-fidelity",
        at_train_end: bool = True,
        center_crop: int | None = None,
    ) -> None:
        super().__init__(every_n_g_steps, at_train_end)
        self.metrics = check_metric_names(metrics or DEFAULT_METRICS)
        bad_crop = center_crop is not None and center_crop < 1
        if num_samples < max(2, is_splits) or num_real < 2 or batch_size < 1 or bad_crop:
            raise GanZooError(
                f"MetricsCallback needs num_samples >= max(2, is_splits={is_splits}), num_real >= 2, "
                f"batch_size >= 1 and center_crop >= 1; got {num_samples}, {num_real}, {batch_size}, {center_crop}"
            )
        self.num_samples = num_samples
        self.num_real = num_real
        self.reference = reference
        self.domain = domain
        self.is_splits = is_splits
        self.seed = seed
        self.batch_size = batch_size
        self.inception_weights = inception_weights
        self.inception_backend = inception_backend
        self.center_crop = center_crop
        self.suite: MetricSuite | None = None
        self.history: list[dict] = []  # [{"g_updates": int, "results": {name: MetricResult.as_dict()}}]

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        wanting = [m for m in self.metrics if METRIC_REGISTRY[m].needs_labels]
        if wanting and label_count(pl_module.generator) is None:  # fail now, not at the first evaluation
            raise GanZooError(f"MetricsCallback: {wanting} need a conditional generator (cGAN, InfoGAN); "
                              f"{type(pl_module).__name__}'s takes no labels, so drop them")

    def run(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.evaluate(trainer, pl_module)

    def state_dict(self) -> dict:
        # the scores so far go with the checkpoint: a resumed run's history is the straight run's, and it
        # leaves out what a crashed run scored after its last checkpoint (metrics.jsonl, appended, keeps that)
        return super().state_dict() | {"history": copy.deepcopy(self.history)}

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        self.history = copy.deepcopy(state_dict.get("history", []))

    # ------------------------------------------------------------------ suite and reference
    def _domain(self, trainer: L.Trainer) -> DomainName | None:
        return self.domain or getattr(trainer.datamodule, "metric_domain", None)

    def _build_suite(self, trainer: L.Trainer, pl_module: L.LightningModule) -> MetricSuite:
        domain = self._domain(trainer)
        needs_domain = [m for m in self.metrics if m in DOMAIN_METRICS]
        if needs_domain and domain is None:
            raise GanZooError(
                f"metrics {needs_domain} need an MNIST-family domain; set MetricsCallback(domain='mnist' or "
                "'fashion_mnist') or choose the Inception metrics ['fid', 'is']"
            )
        return MetricSuite(
            self.metrics, domain=domain, inception_weights=self.inception_weights,
            inception_backend=self.inception_backend,
            is_splits=self.is_splits, batch_size=self.batch_size, device=pl_module.device,
        )

    def _reference_images(self, trainer: L.Trainer) -> tuple[torch.Tensor, str]:
        """(real images, description) for the FIDs: the chosen split, or the data module's first images."""
        datamodule = trainer.datamodule
        if self.reference == "datamodule":
            train_set = getattr(datamodule, "train_set", None)
            if train_set is None:
                raise GanZooError("reference='datamodule' needs trainer.datamodule with a train_set (run via fit)")
            n = min(self.num_real, len(train_set))
            loader = DataLoader(torch.utils.data.Subset(train_set, range(n)), batch_size=self.batch_size)
            real = torch.cat([b[0] if isinstance(b, (list, tuple)) else b for b in loader])
            return real, f"{type(datamodule).__name__}.train_set[:{len(real)}]"
        domain = self._domain(trainer)
        if domain is None:
            raise GanZooError("reference='train'/'test' needs a domain; use reference='datamodule'")
        real, _ = load_split(domain, self.reference, getattr(datamodule, "data_dir", None), self.num_real)
        return real, f"{domain}:{self.reference}[:{len(real)}]"

    # ------------------------------------------------------------------ work
    @torch.no_grad()
    def evaluate(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, MetricResult]:
        """Score the model now; log the values, append them to ``metrics.jsonl`` and ``history``."""
        g_step = pl_module.num_g_updates
        # Building the extractor draws initial weights from the global RNG: forked, so that scoring leaves the
        # training noise (and a resumed run's replay of it) as it would be without this callback.
        cuda = [pl_module.device] if pl_module.device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):
            if self.suite is None:
                self.suite = self._build_suite(trainer, pl_module)
            results = score_generator(
                pl_module, self.suite, num_samples=self.num_samples, batch_size=self.batch_size, seed=self.seed,
                source=f"{type(pl_module).__name__} at G step {g_step}",
                reference=lambda: self._reference_images(trainer), notes={"g_updates": g_step},
                center_crop=self.center_crop,
            )
        scalars: dict[str, float] = {}
        for name, res in results.items():
            scalars[f"metrics/{name}"] = res.value
            if res.std is not None:
                scalars[f"metrics/{name}_std"] = res.std
            if "kl_from_uniform" in res.extras:
                scalars["metrics/class_kl_from_uniform"] = res.extras["kl_from_uniform"]
        self.log_scalars(trainer, pl_module, scalars)
        record = {"g_updates": g_step, "global_step": trainer.global_step,
                  "results": {k: v.as_dict() for k, v in results.items()}}
        self.history.append(record)
        root = run_dir(trainer)
        root.mkdir(parents=True, exist_ok=True)
        with open(root / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps(record) + "\n")
        return results
