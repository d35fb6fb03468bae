"""``GANCheckpoint``: ``ModelCheckpoint`` whose ``last.ckpt`` always holds the final training state."""

from __future__ import annotations

import warnings

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint

__all__ = ["GANCheckpoint"]

# Lightning 2.6 warns (with a 15-line code example) that periodic checkpoints under manual optimization
# hold the state *after* the step's updates. For a GAN that is the state we want to resume from: the
# counters, both nets and both optimizers then agree with each other.
warnings.filterwarnings("ignore", message="Using ModelCheckpoint with manual optimization and every_n_train_steps")


class GANCheckpoint(ModelCheckpoint):
    """Lightning 2.6's ``ModelCheckpoint`` writes ``last.ckpt`` at the end of fit only if it never wrote
    one; with ``every_n_train_steps`` it then keeps the last *periodic* state (e.g. step 7000 of 7500),
    so "resume from last" or "export last" would silently lose the final updates. This subclass writes
    it once more at the end whenever the final step was not saved yet."""

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.save_last and self._last_global_step_saved != trainer.global_step:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        else:
            super().on_train_end(trainer, pl_module)
