"""Guards for the training infrastructure (callbacks, data paths, warm start, ledger checks) that a mutation sweep
showed the rest of the suite could not fail: each test failed on its single-line mutant (2026-12-07 sweep)."""
from __future__ import annotations

import os
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from gan_zoo.callbacks import GANCheckpoint
from gan_zoo.callbacks.nonfinite import NonFiniteGuard, NonFiniteLossError
from gan_zoo.models import DCGAN
from gan_zoo.registry import instantiate_from_config, model_config
from helpers import random_loader, tiny_trainer

NETS = {
    "generator": {"init_args": {"latent_dim": 8, "image_shape": [1, 28, 28], "base_channels": 4}},
    "discriminator": {"init_args": {"image_shape": [1, 28, 28], "base_channels": 4}},
}


def dcgan(**kw):
    return instantiate_from_config(DCGAN, model_config("dcgan", **NETS, **kw))


# M20: the DataLoader path (folders, in_memory=False) must reshuffle every epoch, from seed + epoch
def test_file_loader_order_is_randperm_of_seed_plus_epoch():
    from gan_zoo.data.toy import ToyDataModule

    dm = ToyDataModule(num_samples=40, batch_size=8, in_memory=False, num_workers=0)
    dm.setup("fit")
    fake = SimpleNamespace(current_epoch=0, world_size=1, global_rank=0, num_devices=1,
                           strategy=SimpleNamespace(root_device=torch.device("cpu")))
    dm.trainer = fake
    loader = dm.train_dataloader()
    seed = int(os.environ.get("PL_GLOBAL_SEED", 0))
    orders = []
    for epoch in (0, 1, 2):
        fake.current_epoch = epoch
        expected = torch.randperm(40, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
        got = list(loader.sampler)
        assert got == expected, epoch
        orders.append(got)
    assert orders[0] != orders[1] != orders[2]


# M07: a guard that stopped one fit must not stop the next fit with the old record
class Exploding(DCGAN):
    def d_loss(self, real, fake, labels):
        loss, stats = super().d_loss(real, fake, labels)
        return (loss * float("inf") if self.num_d_updates >= 2 else loss), stats


def test_a_guard_reused_after_a_nonfinite_fit_starts_clean(tmp_path):
    guard = NonFiniteGuard(check_every_n_steps=1000)
    bad = instantiate_from_config(Exploding, model_config("dcgan", **NETS))
    with pytest.raises(NonFiniteLossError):
        tiny_trainer(tmp_path / "a", max_steps=12, callbacks=[guard]).fit(bad, random_loader((1, 28, 28), n=64, num_classes=None))
    good = dcgan()
    tiny_trainer(tmp_path / "b", max_steps=8, callbacks=[guard]).fit(good, random_loader((1, 28, 28), n=32, num_classes=None))
    assert good.num_g_updates == 4


# M03: the first Ctrl-C of a new fit stops at a batch boundary, even if the callback saw one in an earlier fit
def test_a_new_fit_forgets_the_previous_fits_ctrl_c(tmp_path):
    cb = GANCheckpoint(dirpath=tmp_path)
    previous = signal.getsignal(signal.SIGINT)
    try:
        first = SimpleNamespace(_signal_connector=SimpleNamespace(received_sigterm=False))
        cb._on_sigint(first, signal.SIGINT, None)  # the first fit's Ctrl-C
        assert first._signal_connector.received_sigterm
        second = SimpleNamespace(_signal_connector=SimpleNamespace(received_sigterm=False),
                                 strategy=SimpleNamespace(root_device=torch.device("cpu")))
        cb.on_train_start(second, None)
        try:
            cb._on_sigint(second, signal.SIGINT, None)
        except KeyboardInterrupt:
            pytest.fail("the new fit's first Ctrl-C was taken as a second one: it quits without saving")
        assert second._signal_connector.received_sigterm
    finally:
        signal.signal(signal.SIGINT, previous)


# M11: every grid of a run is drawn from the same noise
def test_sample_grid_uses_its_fixed_noise(tmp_path):
    from gan_zoo.callbacks import SampleGrid
    from gan_zoo.callbacks.sample_grid import to_grid
    from PIL import Image
    import numpy as np

    model = dcgan()
    trainer = SimpleNamespace(_gan_zoo_run_dir=tmp_path, loggers=[], global_step=0)
    cb = SampleGrid(every_n_g_steps=1, num_samples=4, seed=3)
    pngs = []
    for _ in range(2):
        torch.manual_seed(len(pngs))  # the global RNG moves between grids in training
        cb.run(trainer, model)
        pngs.append(np.asarray(Image.open(cb.last_path)))
    assert (pngs[0] == pngs[1]).all()
    expected = to_grid(model.sample(4, seed=3))
    assert np.array_equal(pngs[0], (expected.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(torch.uint8).numpy().squeeze()))


# M30: a new fit drops trainable_only_by's cache of the previous fit's optimizers
def test_a_new_fit_drops_the_frozen_parameter_cache(tmp_path):
    model = dcgan()
    t1 = tiny_trainer(tmp_path / "a", max_steps=4)
    t1.fit(model, random_loader((1, 28, 28), n=32, num_classes=None))
    t2 = tiny_trainer(tmp_path / "b", max_steps=4)
    t2.fit(model, random_loader((1, 28, 28), n=32, num_classes=None))
    current = {id(getattr(o, "optimizer", o)) for o in t2.optimizers}
    assert set(model._frozen_during) == current  # t1's optimizers are still alive: their ids cannot be reused


# M34: of two copies with the same name, the later one is shown
def test_host_copies_later_copy_wins():
    from gan_zoo.models.host_copies import HostCopies

    hc = HostCopies()
    hc.push({"d_loss": torch.tensor(1.0)})
    hc.push({"d_loss": torch.tensor(2.0), "g_loss": torch.tensor(3.0)})
    assert {k: float(v) for k, v in hc.ready().items()} == {"d_loss": 2.0, "g_loss": 3.0}
    assert hc.ready() == {}


# M32: a one-batch epoch closed by max_steps, saved by trainer.save_checkpoint, resumes into the straight run
def test_one_batch_epochs_saved_after_max_steps_resume_into_the_straight_run(tmp_path, data_dir):
    import lightning as L

    from gan_zoo import create_model
    from gan_zoo.data import MNISTDataModule

    def train(root, max_steps, ckpt_path=None):
        L.seed_everything(0, verbose=False)
        nets = {"init_args": {"image_shape": [1, 28, 28]}}
        model = create_model("dcgan", tiny=True, generator=nets, discriminator=nets)
        data = MNISTDataModule(data_dir=str(data_dir), limit_samples=12, batch_size=8, in_memory=True)  # 1 batch/epoch
        trainer = tiny_trainer(tmp_path / root, max_steps=max_steps)
        trainer.fit(model, datamodule=data, ckpt_path=ckpt_path)
        return trainer, model

    _, straight = train("straight", 8)  # 4 epochs of one batch
    stopped, _ = train("first", 4)  # ends on epoch 1's only batch
    stopped.save_checkpoint(tmp_path / "epoch_end.ckpt")
    _, resumed = train("resumed", 8, ckpt_path=tmp_path / "epoch_end.ckpt")
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


# M37: image files with upper-case suffixes (.JPG from cameras) are training data too
def test_image_folder_takes_upper_case_suffixes(tmp_path):
    import numpy as np
    from PIL import Image
    from gan_zoo.data.folder import FlatImageFolder
    from gan_zoo.data.base import image_transform

    for name in ("a.JPG", "b.png", "c.Jpeg", "notes.txt"):
        path = tmp_path / name
        if name.endswith("txt"):
            path.write_text("x")
        else:
            Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(path, format="PNG" if name.endswith("png") else "JPEG")
    assert [p.name for p in FlatImageFolder(tmp_path, image_transform(8, 8)).files] == ["a.JPG", "b.png", "c.Jpeg"]


# M31: mean_over_ranks is the mean (BEGAN's k_t under DDP), checked against the ranks' own numbers
class MeanReport(DCGAN):
    report_dir: str = ""

    def on_train_end(self) -> None:
        (mean,) = self.mean_over_ranks(torch.tensor(float(self.global_rank + 1)))
        torch.save({"mean": mean}, Path(self.report_dir) / f"mean{self.global_rank}.pt")


def test_mean_over_ranks_is_the_mean_under_ddp(tmp_path):
    model = instantiate_from_config(MeanReport, model_config("dcgan", **NETS))
    model.report_dir = str(tmp_path)
    trainer = tiny_trainer(tmp_path, max_steps=2, devices=2, strategy="ddp_spawn_find_unused_parameters_true")
    trainer.fit(model, random_loader((1, 28, 28), n=32, batch_size=8, num_classes=None))
    for r in (0, 1):
        assert float(torch.load(tmp_path / f"mean{r}.pt", weights_only=True)["mean"]) == 1.5  # (1 + 2) / 2


# M39: a run that ends by max_epochs after a periodic save still leaves its final state in last.ckpt
def test_last_ckpt_holds_the_final_state_when_max_epochs_ends_the_run(tmp_path):
    cb = GANCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=3, save_last=True, save_top_k=-1)
    trainer = tiny_trainer(tmp_path, max_epochs=1, callbacks=[cb], enable_checkpointing=True)
    trainer.fit(dcgan(), random_loader((1, 28, 28), n=32, num_classes=None))  # 4 batches = 8 steps
    assert trainer.global_step == 8
    assert torch.load(tmp_path / "ckpt" / "last.ckpt", weights_only=True)["global_step"] == 8


# M04 (probe): --checkpoint.save_on_exception never writes a non-finite state
def test_save_on_exception_never_saves_a_nonfinite_state(tmp_path):
    cb = GANCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=1000, save_last=True, save_on_exception=True)
    trainer = tiny_trainer(tmp_path, max_steps=40, callbacks=[NonFiniteGuard(check_every_n_steps=2), cb], enable_checkpointing=True)
    with pytest.raises(NonFiniteLossError) as info:
        trainer.fit(instantiate_from_config(Exploding, model_config("dcgan", **NETS)), random_loader((1, 28, 28), n=96, num_classes=None))
    assert info.value.__context__ is None or not isinstance(info.value.__context__, NonFiniteLossError), "raised twice"
    assert not list((tmp_path / "ckpt").glob("*.ckpt")), list((tmp_path / "ckpt").glob("*"))


# M40: the rarest class's share of the samples (ledger's "every class >= 5 %")
def test_min_class_share_is_a_share_of_all_samples():
    from gan_zoo.reproduce import min_class_share

    assert min_class_share([10, 30, 60]) == pytest.approx(0.1)
    assert min_class_share([0, 50, 50]) == 0.0


# M42: a warm start from a checkpoint with an EMA, into a config that keeps one, loads that EMA
def test_warm_start_loads_the_checkpoints_ema(tmp_path):
    from gan_zoo.warm_start import load_initial_weights

    source = dcgan(ema_decay=0.9)
    trainer = tiny_trainer(tmp_path, max_steps=8)
    trainer.fit(source, random_loader((1, 28, 28), n=32, num_classes=None))
    trainer.save_checkpoint(tmp_path / "src.ckpt")
    saved = torch.load(tmp_path / "src.ckpt", weights_only=True)["state_dict"]
    ema_keys = [k for k in saved if k.startswith("generator_ema.module.")]
    assert ema_keys and any(not torch.equal(saved[k], saved[k.replace("generator_ema.module.", "generator.")]) for k in ema_keys)
    target = dcgan(ema_decay=0.99)
    load_initial_weights(target, tmp_path / "src.ckpt")
    state = target.state_dict()
    for k in ema_keys + ["generator_ema.n_averaged"]:
        assert torch.equal(state[k], saved[k]), k
    assert target._ema_updates == int(saved["generator_ema.n_averaged"]) == 4


# M43: in one process mean_over_ranks hands the scalars back untouched (no reduce, no kernel)
def test_mean_over_ranks_is_a_no_op_in_one_process():
    model = dcgan()

    def no_reduce(*a, **k):
        raise AssertionError("reduce called in a single process")

    model._trainer = SimpleNamespace(world_size=1, strategy=SimpleNamespace(reduce=no_reduce))
    a, b = torch.tensor(1.0), torch.tensor(2.0)
    out = model.mean_over_ranks(a, b)
    assert out[0] is a and out[1] is b
