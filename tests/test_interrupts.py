"""Never lose a run: Ctrl-C and SIGTERM leave a resumable last.ckpt; a crash during a save leaves the old file.

The signal tests run a real ``gan-zoo fit`` process (signals need one): both start together to share
the ~6 s of imports, each is signalled once its first sample grid shows that training is under way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gan_zoo.callbacks import GANCheckpoint
from gan_zoo.cli import cli_main
from helpers import DIGITS

ROOT = Path(__file__).parents[1]
TINY = ["--data.init_args.limit_samples=64", "--data.init_args.batch_size=8", "--trainer.enable_progress_bar=false",
        "--model.init_args.generator.init_args.base_channels=8",
        "--model.init_args.discriminator.init_args.base_channels=8"]


def test_sigint_and_sigterm_leave_a_resumable_last_ckpt(tmp_path, monkeypatch):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", WANDB_MODE="offline")
    procs = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        root = tmp_path / sig.name
        cmd = [sys.executable, "-m", "gan_zoo.cli", "fit", "--config", DIGITS, *TINY, "--trainer.max_steps=100000",
               "--sample_grid.every_n_g_steps=1", f"--trainer.default_root_dir={root}"]
        procs[sig] = (root, subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    deadline = time.time() + 120
    for sig, (root, proc) in procs.items():
        while not list(root.glob("**/samples/*.png")):  # a G update has run: training is under way
            assert proc.poll() is None and time.time() < deadline, proc.communicate()
            time.sleep(0.1)
        proc.send_signal(sig)
    for sig, (root, proc) in procs.items():
        _, err = proc.communicate(timeout=120)
        lines = [line for line in err.splitlines() if line.strip()]
        assert proc.returncode == 128 + sig, err  # 130 for Ctrl-C, 143 for SIGTERM, as a shell reports them
        assert lines[-1].startswith(f"gan-zoo: {sig.name}: training stopped at global step "), lines[-1]
        last = next(root.glob("**/checkpoints/last.ckpt"))
        assert f"resume with --ckpt_path {last}" in lines[-1]
        assert not list(root.glob("**/checkpoints/.*.tmp"))
        state = torch.load(last, weights_only=True)
        step = state["global_step"]
        assert step > 0 and f"global step {step}," in lines[-1]
        assert int(state["state_dict"]["d_updates"]) + int(state["state_dict"]["g_updates"]) == step
    # Resuming the SIGTERM'd run continues its counters: nothing was lost.
    root = tmp_path / "SIGTERM"
    last = next(root.glob("**/checkpoints/last.ckpt"))
    step = torch.load(last, weights_only=True)["global_step"]
    monkeypatch.chdir(tmp_path)
    resumed = cli_main(["fit", "--config", DIGITS, *TINY, f"--ckpt_path={last}", f"--trainer.max_steps={step + 4}",
                        "--sample_grid.every_n_g_steps=0", f"--trainer.default_root_dir={root}"])
    assert resumed.trainer.global_step == step + 4
    assert resumed.model.num_g_updates == (step + 4) // 2


def test_a_crash_while_saving_leaves_the_previous_last_ckpt(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli = cli_main(["fit", "--config", DIGITS, *TINY, "--trainer.max_steps=4", "--sample_grid.every_n_g_steps=0",
                    f"--trainer.default_root_dir={tmp_path}"])
    callback: GANCheckpoint = cli.trainer.checkpoint_callback
    last = Path(callback.last_model_path)
    before = last.read_bytes()

    def crash_mid_write(path, weights_only=None, storage_options=None):
        Path(path).write_bytes(before[:100])  # half a file, then the process dies
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.trainer, "save_checkpoint", crash_mid_write)
    with pytest.raises(KeyboardInterrupt):
        callback._save_checkpoint(cli.trainer, str(last))
    assert last.read_bytes() == before  # the old checkpoint, whole
    assert torch.load(last, weights_only=True)["global_step"] == 4
    assert not list(tmp_path.glob("**/.*.tmp"))  # nor the half-written temporary file


def test_an_unreadable_file_mid_run_saves_the_state_before_it(tmp_path):
    from torch.utils.data import DataLoader, Dataset

    from gan_zoo.data.folder import UnreadableImageError
    from gan_zoo.models import DCGAN
    from gan_zoo.registry import instantiate_from_config, model_config
    from helpers import tiny_trainer

    class BrokenFrom(Dataset):
        """32 random images; item 24 on (the 4th batch of 8) is "a truncated file"."""

        def __len__(self) -> int:
            return 32

        def __getitem__(self, index: int):
            if index >= 24:
                raise UnreadableImageError(f"cannot read image img_{index}.png (image file is truncated)")
            return torch.rand(1, 28, 28, generator=torch.Generator().manual_seed(index)) * 2 - 1

    nets = {"generator": {"init_args": {"latent_dim": 8, "image_shape": [1, 28, 28], "base_channels": 4}},
            "discriminator": {"init_args": {"image_shape": [1, 28, 28], "base_channels": 4}}}
    model = instantiate_from_config(DCGAN, model_config("dcgan", **nets))
    checkpoint = GANCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=1000, save_last=True)
    trainer = tiny_trainer(tmp_path, max_steps=100, callbacks=[checkpoint], enable_checkpointing=True)
    with pytest.raises(UnreadableImageError, match="img_24.png"):
        trainer.fit(model, DataLoader(BrokenFrom(), batch_size=8, shuffle=False))
    state = torch.load(tmp_path / "ckpt" / "last.ckpt", weights_only=True)
    assert state["global_step"] == 6 and int(state["state_dict"]["g_updates"]) == 3  # 3 good batches kept


class RNGRecorder(__import__("lightning").pytorch.callbacks.Checkpoint):
    """Writes each rank's torch RNG state when a checkpoint is assembled and when training starts.
    (A ``Checkpoint`` subclass so that Lightning orders it after GANCheckpoint, whose on_train_start restores.)"""

    def __init__(self, folder: str, tag: str) -> None:
        self.folder, self.tag = folder, tag

    def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        torch.save(torch.get_rng_state(), Path(self.folder) / f"saved_rank{trainer.global_rank}.pt")

    def on_train_start(self, trainer, pl_module) -> None:
        torch.save(torch.get_rng_state(), Path(self.folder) / f"{self.tag}_start_rank{trainer.global_rank}.pt")


def test_ddp_resume_gives_every_rank_its_own_rng_state_back(tmp_path):
    from gan_zoo.models import DCGAN
    from gan_zoo.registry import instantiate_from_config, model_config
    from helpers import random_loader, tiny_trainer

    nets = {"generator": {"init_args": {"latent_dim": 8, "image_shape": [1, 28, 28], "base_channels": 4}},
            "discriminator": {"init_args": {"image_shape": [1, 28, 28], "base_channels": 4}}}
    ddp = dict(devices=2, strategy="ddp_spawn_find_unused_parameters_true", use_distributed_sampler=True,
               enable_checkpointing=True)
    for tag, steps, resume in (("first", 4, None), ("resumed", 8, tmp_path / "ckpt" / "last.ckpt")):
        model = instantiate_from_config(DCGAN, model_config("dcgan", **nets))
        callbacks = [GANCheckpoint(dirpath=tmp_path / "ckpt", save_last=True), RNGRecorder(str(tmp_path), tag)]
        trainer = tiny_trainer(tmp_path, max_steps=steps, callbacks=callbacks, **ddp)
        trainer.fit(model, random_loader((1, 28, 28), n=64, batch_size=8), ckpt_path=resume)
        if tag == "first":
            saved = [torch.load(tmp_path / f"saved_rank{r}.pt", weights_only=True) for r in (0, 1)]
    resumed = [torch.load(tmp_path / f"resumed_start_rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert not torch.equal(saved[0], saved[1])  # the ranks draw different noise
    assert torch.equal(resumed[0], saved[0]) and torch.equal(resumed[1], saved[1])  # each rank continues its own
