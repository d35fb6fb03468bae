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

ROOT = Path(__file__).parents[1]
DIGITS = str(ROOT / "configs" / "dcgan" / "digits.yaml")
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
