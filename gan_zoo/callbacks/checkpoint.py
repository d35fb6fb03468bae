"""``GANCheckpoint``: ``ModelCheckpoint`` that never loses a run.

* ``last.ckpt`` always holds the final training state (Lightning keeps its last *periodic* one);
* SIGINT (Ctrl-C) and SIGTERM (cluster preemption, ``kill``) stop training at the end of the current
  batch and write ``last.ckpt`` there, so ``--ckpt_path .../last.ckpt`` resumes the run;
* every checkpoint is written to a temporary file in its folder and renamed into place, so a crash or
  ``kill -9`` during a save leaves the previous file intact, never a truncated one;
* a failed run (an exception, a non-finite loss) does not overwrite ``last.ckpt``: the last good state stays.
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
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities.exceptions import SIGTERMException

__all__ = ["GANCheckpoint", "interrupt_report"]

# Lightning 2.6 warns (with a 15-line code example) that periodic checkpoints under manual optimization
# hold the state *after* the step's updates. For a GAN that is the state we want to resume from: the
# counters, both nets and both optimizers then agree with each other.
warnings.filterwarnings("ignore", message="Using ModelCheckpoint with manual optimization and every_n_train_steps")


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

    # ------------------------------------------------------------------ final state
    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Plain ModelCheckpoint writes last.ckpt at the end only if it never wrote one; with
        # every_n_train_steps it would keep the last periodic state (e.g. step 7000 of 7500).
        if self.save_last and self._last_global_step_saved != trainer.global_step:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        else:
            super().on_train_end(trainer, pl_module)

    # ------------------------------------------------------------------ signals
    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.stop_signal = None
        if threading.current_thread() is threading.main_thread():
            # Lightning restores every handler it found at fit start when fit ends (its teardown).
            signal.signal(signal.SIGINT, lambda signum, frame: self._on_sigint(trainer, signum, frame))

    def _on_sigint(self, trainer: L.Trainer, signum: int, frame: FrameType | None) -> None:
        if self.stop_signal is not None:  # second Ctrl-C: the user wants out now
            raise KeyboardInterrupt
        self.stop_signal = signum
        print("gan-zoo: Ctrl-C: stopping after this batch and writing last.ckpt (Ctrl-C again quits without saving)",
              file=sys.stderr, flush=True)
        # The same flag Lightning's own SIGTERM handler sets: checked after every batch (and broadcast
        # from rank 0 under DDP), it raises SIGTERMException at a batch boundary.
        trainer._signal_connector.received_sigterm = True

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if not isinstance(exception, SIGTERMException):
            return  # a crash or a non-finite loss: keep the last good checkpoint as it is
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

    # ------------------------------------------------------------------ atomic writes
    def _save_checkpoint(self, trainer: L.Trainer, filepath: str) -> None:
        """Write to ``.<name>.tmp`` beside the target, then rename: readers see the old file or the new one."""
        final = Path(filepath)
        tmp = final.with_name(f".{final.name}.tmp")
        trainer.save_checkpoint(tmp, self.save_weights_only)  # rank 0 writes; all ranks meet at a barrier
        if trainer.is_global_zero:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())  # the bytes are on disk before the name points at them
            os.replace(tmp, final)
        trainer.strategy.barrier("GANCheckpoint.rename")
        self._last_global_step_saved = trainer.global_step
        self._last_checkpoint_saved = filepath
        if trainer.is_global_zero:
            from weakref import proxy

            for logger in trainer.loggers:
                logger.after_save_checkpoint(proxy(self))


def interrupt_report(exception: BaseException) -> tuple[int, str]:
    """(exit status, one-line message) for a ``SIGTERMException`` that ended a fit: 128 + the signal
    number (130 for Ctrl-C, 143 for SIGTERM), as a shell reports a job killed by that signal."""
    signum = getattr(exception, "gan_zoo_signal", signal.SIGTERM)
    message = getattr(exception, "gan_zoo_message", f"{signal.Signals(signum).name}: training stopped")
    return 128 + int(signum), message
