"""No host-device synchronisation inside a training step (issue 11).

On the CPU a read-back costs nothing, so the CPU test counts the Python-level reads that would wait for the
GPU: ``Tensor.item``, ``__bool__``, ``__int__``, ``__float__``, ``__index__``, ``tolist``, ``numpy`` called
on a tensor while ``training_step`` runs, for every registered model with its default settings, plus the
callbacks ``gan-zoo fit`` installs. Reads made by the optimizers in ``torch.optim`` are not counted: they
are of their ``step`` counters, which torch keeps on the host even for CUDA parameters (``swa_utils``, the
EMA, is counted: its ``n_averaged`` lives on the device). On a GPU the same
is checked by CUDA itself (``torch.cuda.set_sync_debug_mode("error")``).
"""

from __future__ import annotations

import traceback

import pytest
import torch

from gan_zoo import create_model, list_models
from gan_zoo.callbacks import SampleGrid
from helpers import random_loader, tiny_trainer

READS = ("item", "__bool__", "__int__", "__float__", "__index__", "tolist", "numpy")


def host_reads_during_training_step(model, monkeypatch, trainer, loader) -> list[str]:
    """Fit ``model`` and return where each counted read happened (file:line of the caller)."""
    reads: list[str] = []
    inside = [False]

    def counting(name, original):
        def read(self, *args, **kwargs):
            if inside[0]:
                caller = traceback.extract_stack(limit=2)[0]
                optimizer_step_counter = "/torch/optim/" in caller.filename and "swa_utils" not in caller.filename
                landed_host_copy = caller.filename.endswith("host_copies.py")  # read after its copy finished
                if not (optimizer_step_counter or landed_host_copy):
                    reads.append(f"Tensor.{name} at {caller.filename}:{caller.lineno}")
            return original(self, *args, **kwargs)

        return read

    for name in READS:
        monkeypatch.setattr(torch.Tensor, name, counting(name, getattr(torch.Tensor, name)))
    step = model.training_step

    def counted_step(*args, **kwargs):
        inside[0] = True
        try:
            return step(*args, **kwargs)
        finally:
            inside[0] = False

    monkeypatch.setattr(model, "training_step", counted_step)
    trainer.fit(model, loader)
    return reads


@pytest.mark.parametrize("name", list_models())
def test_training_step_reads_nothing_back(name, tmp_path, monkeypatch):
    overrides = {"ema_decay": 0.9} if name == "dcgan" else {}  # the EMA update runs inside the G step
    model = create_model(name, tiny=True, **overrides)
    trainer = tiny_trainer(tmp_path, max_steps=12, log_every_n_steps=2, callbacks=[SampleGrid(every_n_g_steps=2)])
    loader = random_loader(tuple(model.generator.image_shape), n=32, batch_size=4, num_classes=10)
    reads = host_reads_during_training_step(model, monkeypatch, trainer, loader)
    assert model.num_d_updates > 0, "the step never ran"
    assert not reads, f"{name}: {len(reads)} device reads inside training_step, e.g. {sorted(set(reads))[:5]}"


def test_began_lr_decay_on_plateau_reads_nothing_back(tmp_path, monkeypatch):
    """The paper's "halve the rates when M_global stalls" decides on the device; the host learns of a decay from
    a non-blocking copy read LR_DECAY_READ_DELAY (8) D steps later (patience 1, so decays fall due within the
    run; 12 batches, so some reach the rates)."""
    model = create_model("began", tiny=True, lr_decay_patience=1)
    trainer = tiny_trainer(tmp_path, max_steps=24, log_every_n_steps=2)
    loader = random_loader(tuple(model.generator.image_shape), n=32, batch_size=4)
    reads = host_reads_during_training_step(model, monkeypatch, trainer, loader)
    assert model.lr_decays_applied.item() > 0, "no decay happened: the check proves nothing"
    assert not reads, f"{len(reads)} device reads inside training_step, e.g. {sorted(set(reads))[:5]}"


def test_the_counter_sees_a_read(tmp_path, monkeypatch):
    """The probe itself: a model that reads a loss back in its step is caught."""
    from gan_zoo.models import DCGAN
    from gan_zoo.registry import instantiate_from_config, model_config

    class Chatty(DCGAN):
        def after_d_step(self, stats):
            if stats["d_loss"] > 100:  # Tensor.__bool__: a sync on a GPU
                pass

    model = instantiate_from_config(Chatty, model_config("dcgan", tiny=True))
    trainer = tiny_trainer(tmp_path, max_steps=2)
    loader = random_loader(tuple(model.generator.image_shape), n=8, batch_size=4, num_classes=10)
    reads = host_reads_during_training_step(model, monkeypatch, trainer, loader)
    assert reads and all("__bool__" in r for r in reads)


@pytest.mark.parametrize("name", list_models())
def test_training_latents_are_drawn_on_the_device_not_copied_there(name, monkeypatch):
    """A latent drawn on the host and copied to a GPU is a pageable host-to-device copy, which waits for the GPU:
    the one sync CUDA's debug mode found on an H200 that the read counter above cannot see (on the CPU the copy
    is a no-op). The ``meta`` device stands in for the GPU here: any host-to-device copy shows as a change of
    device in ``Tensor.to``."""
    model = create_model(name, tiny=True).to("meta")
    copies: list[str] = []
    original = torch.Tensor.to

    def recording_to(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        if out.device != self.device:
            copies.append(f"{self.device} -> {out.device} {tuple(self.shape)}")
        return out

    monkeypatch.setattr(torch.Tensor, "to", recording_to)
    drawn = [model.sample_latent(4)]
    if hasattr(model, "draw_codes"):  # InfoGAN's training step draws (z, c_cat, c_cont) through this
        drawn += list(model.draw_codes(4))
    assert all(t.device.type == "meta" for t in drawn)
    assert not copies, f"{name}: latents copied to the device: {copies}"


@pytest.mark.parametrize("name", list_models())
def test_nothing_logs_python_numbers_per_batch(name, tmp_path, monkeypatch):
    """``self.log`` of a Python number builds a tensor on the module's device: on a GPU a host-to-device copy
    that waits for it, every batch (ProGAN's growth logging did this; CUDA's sync debug mode caught it on an
    H200). The model and its callbacks log tensors only, on every batch Lightning writes (``log_every_n_steps``
    1 here, so every batch)."""
    import lightning as L

    numbers: list[str] = []
    original = L.LightningModule.log

    def recording_log(self, name, value, *args, **kwargs):
        if not isinstance(value, torch.Tensor):
            numbers.append(f"{name}={value!r}")
        return original(self, name, value, *args, **kwargs)

    monkeypatch.setattr(L.LightningModule, "log", recording_log)
    model = create_model(name, tiny=True)
    trainer = tiny_trainer(tmp_path, max_steps=6, log_every_n_steps=1, callbacks=[SampleGrid(every_n_g_steps=2)])
    trainer.fit(model, random_loader(tuple(model.generator.image_shape), n=32, batch_size=4, num_classes=10))
    assert model.num_d_updates > 0, "the step never ran"
    assert not numbers, f"{name}: Python numbers logged: {sorted(set(numbers))[:5]}"


# The guarded cases: every model with its defaults, plus the opt-in paths that once read back per step.
# ProGAN's schedule is stretched so that no milestone grid (a periodic read-back, like SampleGrid's every N
# steps) falls inside the guarded batches: its 4x4 stage ends on the first batch (4 images) and the 8x8
# fade-in's midpoint is at 104 images, past the 64 the run shows; the guarded batches fade in with α 0.04-0.3.
GUARDED_CASES = {name: (name, {}) for name in list_models() if name != "progan"} | {
    "progan": ("progan", {"stabilize_images": 4, "fade_in_images": 200}),
    "began_lr_decay": ("began", {"lr_decay_patience": 1}),  # Sec. 4.1's decay on plateau, due almost every step
    # learning-rate schedules stepped after every update, with a milestone inside the guarded batches (3-15)
    "lr_schedules": ("wgan_gp", {
        "g_lr_scheduler": {"class_path": "torch.optim.lr_scheduler.MultiStepLR", "init_args": {"milestones": [2]}},
        "d_lr_scheduler": {"class_path": "torch.optim.lr_scheduler.StepLR", "init_args": {"step_size": 5}},
    }),
}
GUARD_FROM_BATCH = 3  # after warm-up (cuDNN autotuning, lazy allocations, the first log)


def fit_guarded_case(case: str, tmp_path, device: str):
    """Fit the case's tiny model for 16 batches of 4 on ``device``; on CUDA, batches 3-15 run under
    ``set_sync_debug_mode("error")`` (every step hook of the model and of the callbacks included)."""
    import lightning as L

    from gan_zoo.data.in_memory import DeviceTensorLoader

    class SyncGuard(L.Callback):
        def __init__(self):
            self.guarded_images = []  # real images shown when each guarded batch starts

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if batch_idx >= GUARD_FROM_BATCH:
                self.guarded_images.append(getattr(pl_module, "num_images_shown", None))
            if batch_idx == GUARD_FROM_BATCH and device == "cuda":
                torch.cuda.set_sync_debug_mode("error")

        def on_train_end(self, trainer, pl_module):
            if device == "cuda":
                torch.cuda.set_sync_debug_mode("default")

    name, kwargs = GUARDED_CASES[case]
    model = create_model(name, tiny=True, **({"ema_decay": 0.9} if name == "dcgan" else {}), **kwargs)
    shape = tuple(model.generator.image_shape)
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (64, *shape), dtype=torch.uint8, generator=generator).to(device)
    labels = torch.randint(0, 10, (64,), generator=generator).to(device)
    guard = SyncGuard()
    trainer = tiny_trainer(
        tmp_path, accelerator="gpu" if device == "cuda" else "cpu", max_epochs=1, log_every_n_steps=50,
        enable_progress_bar=True, callbacks=[guard, SampleGrid(every_n_g_steps=1000)],
    )
    try:
        trainer.fit(model, DeviceTensorLoader(images, labels, batch_size=4))
    finally:
        if device == "cuda":
            torch.cuda.set_sync_debug_mode("default")
    return model, guard


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("case", sorted(GUARDED_CASES))
def test_cuda_steps_run_under_sync_debug_mode_error(case, tmp_path):
    """CUDA raises on any synchronising call (``.item()``, D2H copies, ...) made during the guarded steps."""
    model, _ = fit_guarded_case(case, tmp_path, "cuda")
    assert model.num_d_updates == 16


def test_guarded_cases_reach_the_paths_they_guard(tmp_path):
    """The CUDA test's opt-in cases, run on the CPU: ProGAN's guarded batches are inside a fade-in with no
    milestone among them, and BEGAN's decay on plateau fires during the run (else the CUDA test of those
    cases would pass without running the code that once read back)."""
    model, guard = fit_guarded_case("progan", tmp_path / "progan", "cpu")
    assert model.num_d_updates == 16
    shown = guard.guarded_images + [model.num_images_shown]
    milestones = [images for images, _ in model.schedule.milestones()]
    assert not [m for m in milestones if shown[0] < m <= shown[-1]], (shown, milestones)
    assert all(0.0 < model.schedule.at(n).alpha < 1.0 for n in shown[:-1]), shown  # every guarded batch fades in

    model, _ = fit_guarded_case("began_lr_decay", tmp_path / "began", "cpu")
    assert model.num_d_updates == 16
    assert model._lr_decays_applied > 0 and int(model.lr_decays_applied) == model._lr_decays_applied

    model, _ = fit_guarded_case("lr_schedules", tmp_path / "lr_schedules", "cpu")  # WGAN-GP: 5 D steps per G step
    assert (model.num_d_updates, model.num_g_updates) == (16, 3)
    g_lr, d_lr = (optimizer.param_groups[0]["lr"] for optimizer in model.trainer.optimizers)
    assert g_lr == pytest.approx(1e-5) and d_lr == pytest.approx(1e-7)  # WGAN-GP's 1e-4: G past 2; D past 5, 10 and 15


def test_sync_free_ema_update_matches_averaged_model_bitwise():
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    from gan_zoo.models.base import update_ema_

    torch.manual_seed(0)
    net = create_model("dcgan", tiny=True).generator  # conv + batch norm: float params, float and int64 buffers
    reference = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True)
    ours = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True)
    for step in range(4):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p))
        net(torch.randn(4, net.latent_dim))  # moves the batch-norm running statistics and counters
        reference.update_parameters(net)
        update_ema_(ours, net, first=step == 0)
    assert torch.equal(ours.n_averaged, reference.n_averaged)
    for a, b in zip(ours.state_dict().values(), reference.state_dict().values()):
        assert torch.equal(a, b)
