"""Learning-rate schedules (``g_lr_scheduler`` / ``d_lr_scheduler``): each steps once per update of its own net,
its state travels in the checkpoint, and a schedule that would need a host sync is refused.

The expected rates are written here from the schedulers' definitions, not read from torch:

    MultiStepLR(milestones M, gamma γ): lr after k updates = lr_0 · γ^{#{m in M : m <= k}}
    StepLR(step_size s, gamma γ):       lr after k updates = lr_0 · γ^{floor(k / s)}
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch

from gan_zoo import create_model
from gan_zoo.cli import cli_main
from helpers import DIGITS, random_loader, tiny_trainer

LR = 2e-4  # DCGAN's default rate for both nets


class RecordRates(L.Callback):
    """(d_updates, g_updates, G's lr, D's lr) after every training batch."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, int, float, float]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        g_opt, d_opt = trainer.optimizers
        self.rows.append((pl_module.num_d_updates, pl_module.num_g_updates,
                          g_opt.param_groups[0]["lr"], d_opt.param_groups[0]["lr"]))


def test_each_schedule_counts_the_updates_of_its_own_net(tmp_path):
    model = create_model(
        "dcgan", tiny=True, n_critic=2,
        g_lr_scheduler={"class_path": "torch.optim.lr_scheduler.MultiStepLR",
                        "init_args": {"milestones": [2, 3], "gamma": 0.5}},
        d_lr_scheduler={"class_path": "torch.optim.lr_scheduler.StepLR", "init_args": {"step_size": 3, "gamma": 0.1}},
    )
    recorder = RecordRates()
    loader = random_loader(tuple(model.generator.image_shape), n=80)
    tiny_trainer(tmp_path, max_epochs=1, callbacks=[recorder]).fit(model, loader)
    assert [(d, g) for d, g, _, _ in recorder.rows] == [(b, b // 2) for b in range(1, 11)]  # n_critic 2: G every 2nd
    for d, g, g_lr, d_lr in recorder.rows:
        assert g_lr == pytest.approx(LR * 0.5 ** sum(m <= g for m in (2, 3)), rel=1e-12), (d, g)
        assert d_lr == pytest.approx(LR * 0.1 ** (d // 3), rel=1e-12), (d, g)
    assert recorder.rows[-1][2] == pytest.approx(LR / 4) and recorder.rows[-1][3] == pytest.approx(LR * 1e-3)


def test_the_step_after_a_milestone_moves_the_weights_by_the_lower_rate(tmp_path):
    """Adam's first step moves every weight by about lr (|m̂ / sqrt(v̂)| = 1): with a milestone at 1 and γ = 0.01 the
    second G step must move G's weights ~100x less than the first (a schedule stepped before the update, or not at
    all, gives ~1x)."""
    model = create_model("dcgan", tiny=True, g_lr_scheduler={"class_path": "torch.optim.lr_scheduler.MultiStepLR",
                                                             "init_args": {"milestones": [1], "gamma": 0.01}})
    weights = [torch.cat([p.detach().flatten().clone() for p in model.generator.parameters()])]

    class Snap(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            weights.append(torch.cat([p.detach().flatten().clone() for p in pl_module.generator.parameters()]))

    loader = random_loader(tuple(model.generator.image_shape), n=16)
    tiny_trainer(tmp_path, max_steps=4, callbacks=[Snap()]).fit(model, loader)
    first, second = (weights[1] - weights[0]).abs().median(), (weights[2] - weights[1]).abs().median()
    assert first == pytest.approx(LR, rel=0.05)
    assert second < first / 20


def test_a_resumed_run_continues_the_schedule(tmp_path, monkeypatch):
    """3 G updates, then resumed to 6, milestone at 4: restored, the rate halves at update 4; a schedule that
    restarted at the resume would count only 3 updates and keep the full rate."""
    monkeypatch.chdir(tmp_path)
    common = ["--config", DIGITS, "--trainer.enable_progress_bar=false", "--data.init_args.limit_samples=64",
              "--data.init_args.batch_size=8", "--sample_grid.every_n_g_steps=0",
              "--model.init_args.g_lr_scheduler=torch.optim.lr_scheduler.MultiStepLR",
              "--model.init_args.g_lr_scheduler.milestones=[4]", "--model.init_args.g_lr_scheduler.gamma=0.5"]
    first = cli_main(["fit", *common, "--trainer.max_steps=6"])
    last = Path(first.trainer.log_dir) / "checkpoints" / "last.ckpt"
    saved = torch.load(last, weights_only=True)
    assert saved["lr_schedulers"][0]["last_epoch"] == 3
    assert saved["hyper_parameters"]["g_lr_scheduler"]["class_path"] == "torch.optim.lr_scheduler.MultiStepLR"
    second = cli_main(["fit", *common, "--trainer.max_steps=12", f"--ckpt_path={last}"])
    g_opt, d_opt = second.trainer.optimizers
    assert int(second.model.g_updates) == 6
    assert g_opt.param_groups[0]["lr"] == pytest.approx(LR / 2) and d_opt.param_groups[0]["lr"] == pytest.approx(LR)


def test_lightnings_learning_rate_monitor_logs_both_rates(tmp_path):
    """A user adds ``--trainer.callbacks+=LearningRateMonitor``: it finds the two schedules under their names
    (``g_lr``, ``d_lr``) and logs the rate in force at each batch's start (G: halved after its 2nd update)."""
    import csv

    from lightning.pytorch.callbacks import LearningRateMonitor
    from lightning.pytorch.loggers import CSVLogger

    model = create_model(
        "dcgan", tiny=True,
        g_lr_scheduler={"class_path": "torch.optim.lr_scheduler.MultiStepLR", "init_args": {"milestones": [2], "gamma": 0.5}},
        d_lr_scheduler={"class_path": "torch.optim.lr_scheduler.StepLR", "init_args": {"step_size": 100}},
    )
    trainer = tiny_trainer(tmp_path, max_epochs=1, logger=CSVLogger(tmp_path, name="lr"),
                           callbacks=[LearningRateMonitor(logging_interval="step")])
    trainer.fit(model, random_loader(tuple(model.generator.image_shape), n=40))  # 5 batches
    rows = list(csv.DictReader(open(Path(trainer.logger.log_dir) / "metrics.csv")))
    g_rates = [float(r["g_lr"]) for r in rows if r.get("g_lr")]
    d_rates = [float(r["d_lr"]) for r in rows if r.get("d_lr")]
    assert g_rates == pytest.approx([LR, LR, LR / 2, LR / 2, LR / 2])  # after 0, 1, 2, 3, 4 G updates
    assert d_rates == pytest.approx([LR] * 5)
