"""Evaluation during ``fit``: chosen metrics every N generator steps on M samples, logged with protocols.

    gan-zoo fit --config configs/dcgan/mnist.yaml \
        --trainer.callbacks+=gan_zoo.callbacks.MetricsCallback \
        --trainer.callbacks.every_n_g_steps=500 --trainer.callbacks.num_samples=2000

The real reference statistics are computed once (the first time metrics run) and kept; each evaluation
then draws ``num_samples`` fresh samples from fixed seeds with ``pl_module.sample`` (conditional models get
``pl_module.grid_labels``, i.e. balanced classes), logs ``metrics/<name>`` through ``pl_module.log`` (so
every configured logger gets it) and appends the full results, protocol included, to
``<log_dir>/metrics.jsonl``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import lightning as L
import torch
from torch.utils.data import DataLoader

from gan_zoo.errors import GanZooError
from gan_zoo.metrics.protocol import MetricResult
from gan_zoo.metrics.reference import DomainName, load_split
from gan_zoo.metrics.suite import DOMAIN_METRICS, METRICS, MetricSuite

__all__ = ["MetricsCallback", "infer_domain"]


def infer_domain(datamodule: object) -> DomainName | None:
    """``"mnist"`` / ``"fashion_mnist"`` for the MNIST-family data modules, else ``None``."""
    from gan_zoo.data import FashionMNISTDataModule, MNISTDataModule

    if isinstance(datamodule, FashionMNISTDataModule):
        return "fashion_mnist"
    if isinstance(datamodule, MNISTDataModule):
        return "mnist"
    return None


class MetricsCallback(L.Callback):
    """Compute ``metrics`` every ``every_n_g_steps`` generator updates on ``num_samples`` samples.

    Args:
        metrics: names from ``gan_zoo.metrics.METRICS``; default: the three domain metrics.
        every_n_g_steps: generator updates between evaluations (0: only at the end of fit).
        num_samples: generated samples per evaluation.
        num_real: real images for the reference statistics (the first ones of the split, fixed order).
        reference: ``"train"`` / ``"test"``: that split of the domain's dataset (MNIST family);
            ``"datamodule"``: the first ``num_real`` images of the trainer's training set, in order.
        domain: ``"mnist"`` / ``"fashion_mnist"``; default: inferred from the data module.
        is_splits: Inception Score splits.
        seed: samples of evaluation k come from seeds seed, seed + 1, ... (one per batch), the same at
            every evaluation, so successive values differ only through the generator.
        batch_size: samples drawn and scored per call.
        inception_weights: local path of the Inception weights (for ``fid`` / ``is``).
        inception_backend: ``"torch-fidelity"`` or ``"fid-helper"`` (FID only); see ``MetricSuite``.
        at_train_end: also evaluate when fit ends.
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
    ) -> None:
        super().__init__()
        self.metrics = list(metrics) if metrics else list(DOMAIN_METRICS)
        unknown = [m for m in self.metrics if m not in METRICS]
        if unknown:
            raise GanZooError(f"unknown metrics {unknown}; choose from {list(METRICS)}")
        if num_samples < max(2, is_splits) or num_real < 2 or batch_size < 1:
            raise GanZooError(
                f"MetricsCallback needs num_samples >= max(2, is_splits={is_splits}), num_real >= 2 and "
                f"batch_size >= 1; got {num_samples}, {num_real}, {batch_size}"
            )
        self.every_n_g_steps = every_n_g_steps
        self.num_samples = num_samples
        self.num_real = num_real
        self.reference = reference
        self.domain = domain
        self.is_splits = is_splits
        self.seed = seed
        self.batch_size = batch_size
        self.inception_weights = inception_weights
        self.inception_backend = inception_backend
        self.at_train_end = at_train_end
        self.suite: MetricSuite | None = None
        self.history: list[dict] = []  # [{"g_updates": int, "results": {name: MetricResult.as_dict()}}]
        self._last_step = -1

    # ------------------------------------------------------------------ hooks
    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args) -> None:
        g = int(pl_module.g_updates)
        if self.every_n_g_steps > 0 and g > 0 and g % self.every_n_g_steps == 0 and g != self._last_step:
            self.evaluate(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.at_train_end and int(pl_module.g_updates) != self._last_step:
            self.evaluate(trainer, pl_module, log=False)  # Lightning forbids self.log in on_train_end

    # ------------------------------------------------------------------ work
    def _build_suite(self, trainer: L.Trainer, pl_module: L.LightningModule, size: int) -> MetricSuite:
        datamodule = trainer.datamodule
        domain = self.domain or infer_domain(datamodule)
        needs_domain = any(m in DOMAIN_METRICS for m in self.metrics)
        if needs_domain and domain is None:
            raise GanZooError(
                f"metrics {self.metrics} need an MNIST-family domain; set MetricsCallback(domain='mnist' or "
                "'fashion_mnist') or choose the Inception metrics ['fid', 'is']"
            )
        suite = MetricSuite(
            self.metrics, domain=domain, inception_weights=self.inception_weights,
            inception_backend=self.inception_backend,
            is_splits=self.is_splits, batch_size=self.batch_size, device=pl_module.device,
        )
        if any(m in ("domain_fid", "fid") for m in self.metrics):
            if self.reference == "datamodule":
                real = self._datamodule_images(datamodule)
                what = f"{type(datamodule).__name__}.train_set[:{len(real)}]"
            else:
                if domain is None:
                    raise GanZooError("reference='train'/'test' needs a domain; use reference='datamodule'")
                real, _ = load_split(domain, self.reference, getattr(datamodule, "data_dir", None), self.num_real)
                what = f"{domain}:{self.reference}[:{len(real)}]"
            suite.set_reference(real, what, match_size=size)  # real images take the samples' resize path
        return suite

    def _datamodule_images(self, datamodule: object) -> torch.Tensor:
        train_set = getattr(datamodule, "train_set", None)
        if train_set is None:
            raise GanZooError("reference='datamodule' needs trainer.datamodule with a train_set (run via fit)")
        n = min(self.num_real, len(train_set))
        loader = DataLoader(torch.utils.data.Subset(train_set, range(n)), batch_size=self.batch_size)
        return torch.cat([b[0] if isinstance(b, (list, tuple)) else b for b in loader])

    @torch.no_grad()
    def evaluate(self, trainer: L.Trainer, pl_module: L.LightningModule, log: bool = True) -> dict[str, MetricResult]:
        g = int(pl_module.g_updates)
        self._last_step = g
        if not trainer.is_global_zero:
            return {}
        labels = pl_module.grid_labels(self.num_samples)
        batches = []
        for i, start in enumerate(range(0, self.num_samples, self.batch_size)):
            n = min(self.batch_size, self.num_samples - start)
            y = None if labels is None else labels[start : start + n]
            batches.append(pl_module.sample(n, labels=y, seed=self.seed + i).float())
        if batches[0].dim() != 4:
            raise GanZooError(
                f"MetricsCallback scores images, but the model samples shape {tuple(batches[0].shape[1:])}; "
                "for 2-D toy data use gan_zoo.metrics.toy_mode_coverage"
            )
        if self.suite is None:  # the real statistics: computed once, on the first evaluation
            self.suite = self._build_suite(trainer, pl_module, size=batches[0].shape[-1])
        notes = {"g_updates": g, "labels": "none" if labels is None else "grid_labels (balanced)"}
        results = self.suite.compute(batches, seed=self.seed, notes=notes)
        scalars: dict[str, float] = {}
        for name, res in results.items():
            scalars[f"metrics/{name}"] = res.value
            if res.std is not None:
                scalars[f"metrics/{name}_std"] = res.std
            if "kl_from_uniform" in res.extras:
                scalars["metrics/class_kl_from_uniform"] = res.extras["kl_from_uniform"]
        if log:
            pl_module.log_dict(scalars, on_step=True, on_epoch=False, rank_zero_only=True)
        else:  # outside the training loop ``self.log`` is not allowed: write to the loggers directly
            for logger in trainer.loggers:
                logger.log_metrics(scalars, step=trainer.global_step)
        record = {"g_updates": g, "global_step": trainer.global_step,
                  "results": {k: v.as_dict() for k, v in results.items()}}
        self.history.append(record)
        root = Path(trainer.log_dir or trainer.default_root_dir)
        root.mkdir(parents=True, exist_ok=True)
        with open(root / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps(record) + "\n")
        return results
