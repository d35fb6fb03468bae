"""``GANCheckpoint``: ``ModelCheckpoint`` that never loses a run.

* ``last.ckpt`` always holds the final training state (Lightning keeps its last *periodic* one);
* SIGINT (Ctrl-C) and SIGTERM (cluster preemption, ``kill``) stop training at the end of the current
  batch and write ``last.ckpt`` there, so ``--ckpt_path .../last.ckpt`` resumes the run;
* every checkpoint is written to a temporary file in its folder and renamed into place, so a crash or
  ``kill -9`` during a save leaves the previous file intact, never a truncated one;
* under DDP every rank's RNG state goes into the checkpoint and comes back to that rank on resume (the
  model keeps only the writing rank's, and re-offsets the noise stream by the rank at fit start);
* a failed run (an exception, a non-finite loss) does not overwrite ``last.ckpt``: the last good state stays;
  except a ``DataError`` (an unreadable training file), raised between two steps: that state is saved.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import warnings
from pathlib import Path
from types import FrameType

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch import Tensor
from lightning.pytorch.utilities.exceptions import SIGTERMException

from gan_zoo.callbacks.nonfinite import NonFiniteLossError
from gan_zoo.errors import DataError

__all__ = ["GANCheckpoint", "interrupt_report", "save_checkpoint_atomic"]

# Lightning 2.6 warns (with a 15-line code example) that periodic checkpoints under manual optimization
# hold the state *after* the step's updates. For a GAN that is the state we want to resume from: the
# counters, both nets and both optimizers then agree with each other.
warnings.filterwarnings("ignore", message="Using ModelCheckpoint with manual optimization and every_n_train_steps")


def save_checkpoint_atomic(trainer: L.Trainer, filepath: str | os.PathLike, weights_only: bool = False) -> None:
    """``trainer.save_checkpoint`` to ``.<name>.tmp`` beside the target, then a rename: readers see the old file
    or the new one, never half of one, and a failed write leaves no temporary file. Call it on every rank."""
    final = Path(filepath)
    tmp = final.with_name(f".{final.name}.tmp")
    try:
        trainer.save_checkpoint(tmp, weights_only)  # rank 0 writes; all ranks meet at a barrier
        if trainer.is_global_zero:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())  # the bytes are on disk before the name points at them
            os.replace(tmp, final)
    except BaseException:  # a second Ctrl-C, a full disk
        if trainer.is_global_zero:
            tmp.unlink(missing_ok=True)
        raise
    trainer.strategy.barrier("gan_zoo.save_checkpoint_atomic")


class GANCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` for GAN runs (see the module docstring). Its arguments are ``ModelCheckpoint``'s.

    Signals: Lightning already turns SIGTERM into a stop at the next batch boundary (broadcast from rank 0
    under DDP, so all ranks stop together). Ctrl-C would raise ``KeyboardInterrupt`` wherever Python happens
    to be, possibly between the D and the G update; this callback routes the first Ctrl-C through the same
    batch-boundary stop, and a second Ctrl-C quits at once without saving.
    """

    def __init__(self, *args, **kwargs) -> None:  # noqa: D107  (ModelCheckpoint's arguments, unchanged)
        super().__init__(*args, **kwargs)
        self.stop_signal: int | None = None
        self._rank_rng: dict[str, Tensor] | None = None  # this rank's RNG state from the checkpoint, to restore

    @property
    def state_key(self) -> str:
        # ModelCheckpoint's key includes the save intervals: a resume with another --checkpoint.every_n_train_steps
        # then restored nothing, and the run wrote last-v1.ckpt beside the stale last.ckpt users resume from.
        return self._generate_state_key(monitor=self.monitor, mode=self.mode)

    # ------------------------------------------------------------------ final state
    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args, **kwargs) -> None:
        super().on_train_batch_end(trainer, pl_module, *args, **kwargs)
        # The run's last batch (max_steps): write last.ckpt here, where periodic checkpoints are written. From
        # on_train_end, after Lightning has closed the epoch, it would resume in the *next* epoch and skip the
        # rest of this one.
        if self.save_last and 0 < trainer.max_steps <= trainer.global_step and self._last_global_step_saved != trainer.global_step:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Plain ModelCheckpoint writes last.ckpt at the end only if it never wrote one; with
        # every_n_train_steps it would keep the last periodic state (e.g. step 7000 of 7500).
        if self.save_last and self._last_global_step_saved != trainer.global_step:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        else:
            super().on_train_end(trainer, pl_module)

    # ------------------------------------------------------------------ signals
    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._rank_rng is not None:  # after the model's fit-start re-seeding, before the first batch
            torch.set_rng_state(self._rank_rng["cpu"])
            if "cuda" in self._rank_rng and trainer.strategy.root_device.type == "cuda":
                torch.cuda.set_rng_state(self._rank_rng["cuda"], trainer.strategy.root_device)
            self._rank_rng = None
        self.stop_signal = None
        if threading.current_thread() is threading.main_thread():
            # Lightning restores every handler it found at fit start when fit ends (its teardown).
            signal.signal(signal.SIGINT, lambda signum, frame: self._on_sigint(trainer, signum, frame))

    def _on_sigint(self, trainer: L.Trainer, signum: int, frame: FrameType | None) -> None:
        if self.stop_signal is not None:  # second Ctrl-C: the user wants out now
            raise KeyboardInterrupt
        self.stop_signal = signum
        print("\ngan-zoo: Ctrl-C: stopping after this batch and writing last.ckpt (Ctrl-C again quits without saving)",
              file=sys.stderr, flush=True)
        # The same flag Lightning's own SIGTERM handler sets: checked after every batch (and broadcast
        # from rank 0 under DDP), it raises SIGTERMException at a batch boundary.
        trainer._signal_connector.received_sigterm = True

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, DataError):  # raised while fetching a batch: the state between two steps
            if self.save_last and trainer.global_step > 0 and self._last_global_step_saved != trainer.global_step:
                self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
            return
        if not isinstance(exception, SIGTERMException):
            # A crash or a non-finite loss: keep the last good checkpoint as it is, unless the user asked for
            # --checkpoint.save_on_exception (never for a non-finite state).
            if self.save_on_exception and not isinstance(exception, NonFiniteLossError):
                super().on_exception(trainer, pl_module, exception)
            return
        signum = self.stop_signal or signal.SIGTERM
        self.stop_signal = signum
        if self.save_last and self._last_global_step_saved != trainer.global_step:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        path = self.last_model_path if self.save_last else None
        saved = f"saved {path}; resume with --ckpt_path {path}" if path else "no last.ckpt (checkpoint.save_last is off)"
        # Lightning re-raises the exception after the callbacks (and tears the trainer down properly);
        # the CLI reads this note from it to print one line and exit with 128 + signal number.
        exception.gan_zoo_signal = signum  # type: ignore[attr-defined]
        exception.gan_zoo_message = (  # type: ignore[attr-defined]
            f"{signal.Signals(signum).name}: training stopped at global step {trainer.global_step}, {saved}"
        )

    # ------------------------------------------------------------------ every rank's noise stream
    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        # (An epoch closed before the save resumes at the next epoch's first batch: GANModule.on_save_checkpoint.)
        # Runs on every rank while the checkpoint is assembled (rank 0 then writes it): a collective is safe.
        if trainer.world_size > 1 and torch.distributed.is_available() and torch.distributed.is_initialized():
            device = trainer.strategy.root_device
            states = {"cpu": torch.get_rng_state()}
            if device.type == "cuda":
                states["cuda"] = torch.cuda.get_rng_state(device)
            checkpoint["gan_zoo_rng_per_rank"] = {key: _gather(state, device) for key, state in states.items()}

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        per_rank = checkpoint.get("gan_zoo_rng_per_rank")
        if per_rank and len(per_rank["cpu"]) == trainer.world_size:
            self._rank_rng = {key: states[trainer.global_rank] for key, states in per_rank.items()}

    # ------------------------------------------------------------------ atomic writes
    def _save_checkpoint(self, trainer: L.Trainer, filepath: str) -> None:
        save_checkpoint_atomic(trainer, filepath, self.save_weights_only)
        self._last_global_step_saved = trainer.global_step
        self._last_checkpoint_saved = filepath
        if trainer.is_global_zero:
            from weakref import proxy

            for logger in trainer.loggers:
                logger.after_save_checkpoint(proxy(self))


def _gather(state: Tensor, device: torch.device) -> list[Tensor]:
    """Every rank's copy of a uint8 RNG state, in rank order (as int32: all backends gather that)."""
    mine = state.to(device=device, dtype=torch.int32)
    gathered = [torch.empty_like(mine) for _ in range(torch.distributed.get_world_size())]
    torch.distributed.all_gather(gathered, mine)
    return [g.to("cpu", torch.uint8) for g in gathered]


def interrupt_report(exception: BaseException) -> tuple[int, str]:
    """(exit status, one-line message) for a ``SIGTERMException`` that ended a fit: 128 + the signal
    number (130 for Ctrl-C, 143 for SIGTERM), as a shell reports a job killed by that signal."""
    signum = getattr(exception, "gan_zoo_signal", signal.SIGTERM)
    message = getattr(exception, "gan_zoo_message", f"{signal.Signals(signum).name}: training stopped")
    return 128 + int(signum), message
