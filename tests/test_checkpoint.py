"""Checkpoints carry every piece of training state and load with weights_only=True."""

from __future__ import annotations

import pytest
import torch

from gan_zoo.registry import instantiate_from_config, model_config
from gan_zoo.models import DCGAN
from helpers import random_loader, tiny_trainer

NETS = {
    "generator": {"init_args": {"latent_dim": 8, "image_shape": [1, 28, 28], "base_channels": 4}},
    "discriminator": {"init_args": {"image_shape": [1, 28, 28], "base_channels": 4}},
}


def build(**kw):
    return instantiate_from_config(DCGAN, model_config("dcgan", **{**NETS, **kw}))


def test_checkpoint_round_trip_with_ema_and_counters(tmp_path):
    model = build(ema_decay=0.99, n_critic=2)
    trainer = tiny_trainer(tmp_path, max_epochs=1)
    trainer.fit(model, random_loader((1, 28, 28), n=48))
    path = tmp_path / "m.ckpt"
    trainer.save_checkpoint(path)

    raw = torch.load(path, weights_only=True)  # no pickled objects inside
    state = raw["state_dict"]
    assert int(state["d_updates"]) == 6 and int(state["g_updates"]) == 3
    assert "generator_ema.n_averaged" in state
    assert raw["hyper_parameters"]["generator"]["class_path"] == "gan_zoo.nets.DCGANGenerator"

    restored = DCGAN.load_from_checkpoint(path)
    assert (int(restored.d_updates), int(restored.g_updates)) == (6, 3)
    assert torch.equal(model.sample(6, seed=11), restored.sample(6, seed=11))  # EMA generator by default
    assert torch.equal(model.sample(6, seed=11, use_ema=False), restored.sample(6, seed=11, use_ema=False))


def test_resume_continues_counters_and_optimizer_state(tmp_path):
    loader = random_loader((1, 28, 28), n=32)  # 4 batches per epoch
    model = build()
    trainer = tiny_trainer(tmp_path, max_epochs=1)
    trainer.fit(model, loader)
    path = tmp_path / "m.ckpt"
    trainer.save_checkpoint(path)

    resumed = build()
    trainer2 = tiny_trainer(tmp_path, max_epochs=2)
    trainer2.fit(resumed, loader, ckpt_path=path)
    assert (int(resumed.d_updates), int(resumed.g_updates)) == (8, 8)
    assert trainer2.global_step == 16
    # Adam's step counters came back from the checkpoint and kept counting.
    g_opt, d_opt = trainer2.optimizers
    assert int(next(iter(g_opt.state.values()))["step"]) == 8
    assert int(next(iter(d_opt.state.values()))["step"]) == 8


def _epoch_end_resume(tmp_path, **overrides):
    """(straight run over 2 epochs, path of the checkpoint after epoch 1, the resumed run) on 4 batches of 8."""
    from torch.utils.data import DataLoader, TensorDataset

    data = TensorDataset(torch.rand(32, 1, 28, 28) * 2 - 1)
    loader = lambda: DataLoader(data, batch_size=8, shuffle=True, drop_last=True)  # noqa: E731  (shuffle draws from the RNG)

    torch.manual_seed(0)
    straight = build(**overrides)
    tiny_trainer(tmp_path / "a", max_epochs=2).fit(straight, loader())

    torch.manual_seed(0)
    first = build(**overrides)
    trainer = tiny_trainer(tmp_path / "b", max_epochs=1)
    trainer.fit(first, loader())
    trainer.save_checkpoint(tmp_path / "epoch1.ckpt")
    torch.manual_seed(12345)  # whatever the process did in between must not matter
    resumed = build(**overrides)
    tiny_trainer(tmp_path / "c", max_epochs=2).fit(resumed, loader(), ckpt_path=tmp_path / "epoch1.ckpt")
    return straight, tmp_path / "epoch1.ckpt", resumed


def test_resume_from_epoch_end_replays_the_uninterrupted_run_bitwise(tmp_path):
    straight, _, resumed = _epoch_end_resume(tmp_path, ema_decay=0.9)
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


def test_inference_load_leaves_the_global_rng_alone(tmp_path):
    model = build()
    trainer = tiny_trainer(tmp_path, max_epochs=1)
    trainer.fit(model, random_loader((1, 28, 28), n=16))
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    saved = torch.load(tmp_path / "m.ckpt", weights_only=True)["gan_zoo_rng"]["cpu"]
    torch.manual_seed(99)
    DCGAN.load_from_checkpoint(tmp_path / "m.ckpt")
    assert not torch.equal(torch.get_rng_state(), saved)  # a resumed *fit* restores it; a plain load must not


def _fit_digits(root, max_steps: int, ckpt_path=None, *extra: str) -> str:
    """The digits config, tiny: 8 batches = 16 steps per epoch; the state dict of the run's last.ckpt."""
    from gan_zoo.cli import cli_main
    from helpers import DIGITS

    resume = [f"--ckpt_path={ckpt_path}"] if ckpt_path else []
    cli = cli_main([
        "fit", "--config", DIGITS, "--trainer.logger=false", "--trainer.enable_progress_bar=false",
        "--data.init_args.limit_samples=64", "--data.init_args.batch_size=8", "--sample_grid.every_n_g_steps=0",
        "--model.init_args.generator.init_args.base_channels=8", "--model.init_args.discriminator.init_args.base_channels=8",
        "--seed_everything=0", f"--trainer.max_steps={max_steps}", f"--trainer.default_root_dir={root}", *resume, *extra,
    ])
    return cli.trainer.checkpoint_callback.last_model_path


def test_a_run_stopped_by_max_steps_resumes_where_it_stopped(tmp_path):
    # last.ckpt of a run that ends at max_steps, mid-epoch (24 = 1.5 epochs) or on an epoch's last batch (32), and
    # continued to 48 steps: the same weights as 48 steps straight. Written after Lightning closed the epoch, it
    # resumed in the next epoch and skipped the rest of this one (weights off by ~1e-3).
    straight = torch.load(_fit_digits(tmp_path / "straight", 48), weights_only=True)["state_dict"]
    for stop in (24, 32):
        first = _fit_digits(tmp_path / f"to_{stop}", stop)
        resumed = torch.load(_fit_digits(tmp_path / f"from_{stop}", 48, ckpt_path=first), weights_only=True)["state_dict"]
        for key, value in straight.items():
            assert torch.equal(value, resumed[key]), (stop, key)


def test_a_run_stopped_by_a_signal_on_an_epochs_last_batch_resumes_with_the_next_epoch(tmp_path, monkeypatch):
    # SIGTERM seen on batch 8 of 8 (step 16): Lightning closes the epoch before GANCheckpoint saves, and the saved
    # batch counter once made the resumed run end its next epoch after one batch
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from gan_zoo.callbacks import GANCheckpoint

    straight = torch.load(_fit_digits(tmp_path / "straight", 48), weights_only=True)["state_dict"]
    batch_end = GANCheckpoint.on_train_batch_end

    def sigterm_at_16(self, trainer, *args, **kwargs):
        batch_end(self, trainer, *args, **kwargs)
        if trainer.global_step == 16:
            trainer._signal_connector.received_sigterm = True  # what Lightning's SIGTERM handler sets

    monkeypatch.setattr(GANCheckpoint, "on_train_batch_end", sigterm_at_16)
    try:
        _fit_digits(tmp_path / "stopped", 48)
    except SIGTERMException:
        pass
    monkeypatch.setattr(GANCheckpoint, "on_train_batch_end", batch_end)
    last = next((tmp_path / "stopped").glob("**/last.ckpt"))
    assert torch.load(last, weights_only=True)["global_step"] == 16
    resumed = torch.load(_fit_digits(tmp_path / "resumed", 48, ckpt_path=last), weights_only=True)["state_dict"]
    for key, value in straight.items():
        assert torch.equal(value, resumed[key]), key


def test_a_resume_with_other_checkpoint_intervals_keeps_writing_last_ckpt(tmp_path):
    # the intervals were part of ModelCheckpoint's state key: another one restored nothing, and the resumed run
    # wrote last-v1.ckpt while last.ckpt, the file users resume from, stayed at the first run's step
    from pathlib import Path

    first = Path(_fit_digits(tmp_path, 16))
    resumed = Path(_fit_digits(tmp_path, 40, first, "--checkpoint.every_n_train_steps=500"))
    assert resumed == first and torch.load(first, weights_only=True)["global_step"] == 40
    assert sorted(p.name for p in first.parent.glob("last*.ckpt")) == ["last.ckpt"]


def test_periodic_work_is_not_repeated_after_a_resume(tmp_path):
    # n_critic 2: G update 3 lands on step 9 and the next batches are D steps, still at G update 3
    from gan_zoo.callbacks.periodic import PeriodicCallback

    class Runs(PeriodicCallback):
        def __init__(self) -> None:
            super().__init__(every_n_g_steps=3, at_train_end=False)
            self.g_steps: list[int] = []

        def run(self, trainer, pl_module) -> None:
            self.g_steps.append(pl_module.num_g_updates)

    loader = random_loader((1, 28, 28), n=64)
    first = Runs()
    trainer = tiny_trainer(tmp_path, max_steps=9, callbacks=[first])
    trainer.fit(build(n_critic=2), loader)
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    resumed = Runs()
    tiny_trainer(tmp_path, max_steps=21, callbacks=[resumed]).fit(build(n_critic=2), loader, ckpt_path=tmp_path / "m.ckpt")
    assert first.g_steps == [3] and resumed.g_steps == [6]


@pytest.mark.parametrize("in_memory,num_workers", [(True, 0), (False, 0), (False, 2)],
                         ids=["in_memory", "dataloader", "dataloader_workers"])
def test_a_fit_saved_after_max_steps_at_an_epoch_end_resumes_into_the_straight_run(data_dir, tmp_path, in_memory,
                                                                                   num_workers):
    """``trainer.save_checkpoint`` after a fit that max_steps stopped on an epoch's last batch (Lightning has
    closed that epoch), resumed: the next epoch's data order and noise are the straight run's, bit for bit, on
    every data path. Closed epochs used to resume as "at the last batch", skipping an epoch's order; and
    worker processes, started again by the resume, drew their seeds from the global RNG and the order from
    a RandomSampler, where the straight run's persistent workers did not."""
    import lightning as L

    from gan_zoo import create_model
    from gan_zoo.data import MNISTDataModule

    def train(root: str, max_steps: int, ckpt_path=None):
        L.seed_everything(0, verbose=False)
        nets = {"init_args": {"image_shape": [1, 28, 28]}}
        model = create_model("dcgan", tiny=True, generator=nets, discriminator=nets)
        data = MNISTDataModule(data_dir=str(data_dir), limit_samples=48, batch_size=8, in_memory=in_memory,
                               num_workers=num_workers)  # 6 batches per epoch
        trainer = tiny_trainer(tmp_path / root, max_steps=max_steps)
        trainer.fit(model, datamodule=data, ckpt_path=ckpt_path)
        return trainer, model

    _, straight = train("straight", 16)  # DCGAN: 2 optimizer steps per batch, so 8 batches
    stopped, _ = train("first", 12)  # the last batch of the first epoch
    stopped.save_checkpoint(tmp_path / "epoch_end.ckpt")
    _, resumed = train("resumed", 16, ckpt_path=tmp_path / "epoch_end.ckpt")
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


def test_resume_mid_critic_streak_replays_the_uninterrupted_run_bitwise(tmp_path):
    # With n_critic = 3 and 4 batches an epoch, epoch 1 ends one D step into a new streak (D D D+G D): the
    # resumed run must take its next G step after two more D steps, as the straight run does. A streak
    # restarted at 0 on load puts G's step one batch late and every weight after it differs.
    straight, path, resumed = _epoch_end_resume(tmp_path, n_critic=3)
    saved = torch.load(path, weights_only=True)["state_dict"]
    assert 0 < int(saved["critic_streak"]) < 3  # the checkpoint really falls mid-streak
    # 8 D steps over 2 epochs, a G step after every third: 2 of them
    assert (int(straight.d_updates), int(straight.g_updates)) == (8, 2)
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


def _fit_mnist(data_dir, root, max_steps: int, in_memory: bool = True, num_workers: int = 0, ckpt_path=None,
               callbacks=()):
    """Tiny DCGAN on 48 MNIST images: 6 batches of 8 per epoch, 2 optimizer steps per batch."""
    import lightning as L

    from gan_zoo import create_model
    from gan_zoo.data import MNISTDataModule

    L.seed_everything(0, verbose=False)
    nets = {"init_args": {"image_shape": [1, 28, 28]}}
    model = create_model("dcgan", tiny=True, generator=nets, discriminator=nets)
    data = MNISTDataModule(data_dir=str(data_dir), limit_samples=48, batch_size=8, in_memory=in_memory,
                           num_workers=num_workers)
    trainer = tiny_trainer(root, max_steps=max_steps, callbacks=list(callbacks))
    trainer.fit(model, datamodule=data, ckpt_path=ckpt_path)
    return trainer, model


def test_a_fit_saved_after_max_steps_cut_an_epoch_short_resumes_its_remaining_batches(data_dir, tmp_path):
    """max_steps stops 4 batches into a 6-batch epoch and Lightning marks the epoch completed; a resume from
    trainer.save_checkpoint then must still train the epoch's last 2 batches (the straight run's), not drop them."""
    _, straight = _fit_mnist(data_dir, tmp_path / "straight", 20)
    stopped, _ = _fit_mnist(data_dir, tmp_path / "first", 8)
    stopped.save_checkpoint(tmp_path / "cut.ckpt")
    _, resumed = _fit_mnist(data_dir, tmp_path / "resumed", 20, ckpt_path=tmp_path / "cut.ckpt")
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


@pytest.mark.parametrize("in_memory,num_workers", [(True, 0), (False, 0), (False, 2)],
                         ids=["in_memory", "dataloader", "dataloader_workers"])
def test_a_checkpoint_written_at_on_train_epoch_end_resumes_into_the_straight_run(data_dir, tmp_path, in_memory,
                                                                                num_workers):
    """What every_n_epochs checkpoints (and any callback saving in on_train_epoch_end) write: the epoch is
    processed but not completed. The resume must start the next epoch at its first batch with its own order."""
    import lightning as L

    class SaveAtFirstEpochEnd(L.Callback):
        def on_train_epoch_end(self, trainer, pl_module) -> None:
            if trainer.current_epoch == 0:
                trainer.save_checkpoint(tmp_path / "epoch_end.ckpt")

    _, straight = _fit_mnist(data_dir, tmp_path / "straight", 24, in_memory, num_workers, callbacks=[SaveAtFirstEpochEnd()])
    _, resumed = _fit_mnist(data_dir, tmp_path / "resumed", 24, in_memory, num_workers, ckpt_path=tmp_path / "epoch_end.ckpt")
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


# ------------------------------------------------ mutation sweep 3: the loop state a resume leaves behind
def _fit_random(root, max_steps: int, ckpt_path=None, callbacks=()):
    """Tiny DCGAN on 48 random images: 6 batches of 8 per epoch, 2 optimizer steps per batch."""
    import lightning as L

    L.seed_everything(0, verbose=False)
    trainer = tiny_trainer(root, max_steps=max_steps, callbacks=list(callbacks))
    trainer.fit(build(), random_loader((1, 28, 28), n=48, batch_size=8, num_classes=None), ckpt_path=ckpt_path)
    return trainer


def _loop_state(trainer) -> dict:
    fit_loop = trainer.fit_loop
    return {"current_epoch": trainer.current_epoch, "global_step": trainer.global_step,
            "epoch_progress": fit_loop.epoch_progress.state_dict(),
            "batch_progress": fit_loop.epoch_loop.batch_progress.state_dict()}


def _boundary_saves(tmp_path):
    """The three saves restart_point_of_epoch rewrites: max_steps inside an epoch (4 of 6 batches), max_steps on an
    epoch's last batch, and a save in on_train_epoch_end; (name, checkpoint path) each."""
    import lightning as L

    class SaveAtFirstEpochEnd(L.Callback):
        def on_train_epoch_end(self, trainer, pl_module) -> None:
            if trainer.current_epoch == 0:
                trainer.save_checkpoint(tmp_path / "epoch_end.ckpt")

    saves = []
    for name, steps in (("cut_short", 8), ("last_batch", 12)):
        _fit_random(tmp_path / name, steps).save_checkpoint(tmp_path / f"{name}.ckpt")
        saves.append((name, tmp_path / f"{name}.ckpt"))
    _fit_random(tmp_path / "epoch_end", 16, callbacks=[SaveAtFirstEpochEnd()])  # saves at the end of epoch 0
    saves.append(("epoch_end", tmp_path / "epoch_end.ckpt"))
    return saves


def test_a_resume_from_an_epoch_boundary_save_has_the_straight_runs_epoch_and_loop_counters(tmp_path):
    """Weights alone do not show it: a resume whose loop state was rewritten for only one of Lightning's two
    counters (current / total), or only half-reopened, trains the same batches but reaches step 20 in another
    epoch (trainer.current_epoch, the next save's epoch and so its data order on a second resume)."""
    straight = _loop_state(_fit_random(tmp_path / "straight", 20))
    for name, path in _boundary_saves(tmp_path):
        resumed = _loop_state(_fit_random(tmp_path / f"resumed_{name}", 20, ckpt_path=path))
        assert resumed == straight, name


def test_restart_point_of_epoch_leaves_a_rewritten_or_unstarted_loop_state_alone(tmp_path):
    """A checkpoint saved again without training in between (rewritten once already), or saved before the
    first batch (every counter 0), must keep its loop state: the rewrite is idempotent."""
    import copy

    import lightning as L

    from gan_zoo.models.base import restart_point_of_epoch

    class SaveAtTrainStart(L.Callback):
        def on_train_start(self, trainer, pl_module) -> None:
            trainer.save_checkpoint(tmp_path / "start.ckpt")

    _fit_random(tmp_path / "start", 2, callbacks=[SaveAtTrainStart()])
    saves = _boundary_saves(tmp_path) + [("train_start", tmp_path / "start.ckpt")]
    for name, path in saves:
        fit_loop = torch.load(path, weights_only=True)["loops"]["fit_loop"]
        again = copy.deepcopy(fit_loop)
        restart_point_of_epoch(again)
        assert again == fit_loop, name
