"""``NonFiniteGuard``: stop training when a loss goes NaN/inf, before a checkpoint can store the damage.

A non-finite D or G loss means that update wrote NaN/inf into the network's weights, and every later
step and checkpoint carries them. The guard reads the losses each step returns (``training_step``'s
stats arrive as ``outputs`` in ``on_train_batch_end``) and remembers, on the device, the first global step
at which each loss was not finite. It looks at that record (one host sync) only

* every ``check_every_n_steps`` steps (default: the trainer's ``log_every_n_steps``, when the logger
  syncs anyway),
* whenever a checkpoint is about to be written (``on_save_checkpoint``: raising there aborts the save,
  so no checkpoint ever holds the non-finite state and ``last.ckpt`` keeps the last finite one),
* at the end of training.

Trade-off: a per-step ``bool(torch.isfinite(loss))`` would stop at the very step, at the price of a host-device
sync per step (the GPU pipeline drains every step). Checking every N steps lets up to N - 1 wasted steps
run after the first non-finite one; the error still names that first step, and no checkpoint is lost,
because every save is checked first.
"""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor

from gan_zoo.errors import GanZooError

__all__ = ["NonFiniteGuard", "NonFiniteLossError"]

# Which network a loss drives (the base loop's step stats: d_update -> "d_loss", g_update -> "g_loss").
LOSS_NETWORKS = {"d_loss": "discriminator", "g_loss": "generator"}


class NonFiniteLossError(GanZooError):
    """A training loss became NaN or infinite."""


class NonFiniteGuard(L.Callback):
    """Stop training with one line naming the step, the network and the loss once a loss is NaN/inf.

    Args:
        check_every_n_steps: read the device-side record every this many global steps; ``None``: the
            trainer's ``log_every_n_steps``. Every checkpoint save and the end of training check too.
    """

    def __init__(self, check_every_n_steps: int | None = None) -> None:
        super().__init__()
        if check_every_n_steps is not None and check_every_n_steps < 1:
            raise GanZooError(f"check_every_n_steps must be >= 1 (or null), got {check_every_n_steps}")
        self.check_every_n_steps = check_every_n_steps
        self._first_bad_step: dict[str, Tensor] = {}  # loss name -> first non-finite global step, -1 if none
        self._first_bad_value: dict[str, Tensor] = {}

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._first_bad_step, self._first_bad_value = {}, {}

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx) -> None:
        if isinstance(outputs, dict):
            step = trainer.global_step  # a host int: the step whose updates just ran
            for name in LOSS_NETWORKS:
                loss = outputs.get(name)
                if isinstance(loss, Tensor):
                    self._record(name, loss.detach(), step)
        every = self.check_every_n_steps or max(1, trainer.log_every_n_steps)
        if trainer.global_step % every == 0:
            self.check(trainer)

    def _record(self, name: str, loss: Tensor, step: int) -> None:
        first = self._first_bad_step.get(name)
        if first is None:
            first = self._first_bad_step[name] = torch.full((), -1, dtype=torch.long, device=loss.device)
            self._first_bad_value[name] = torch.zeros((), dtype=loss.dtype, device=loss.device)
        new = (first < 0) & ~torch.isfinite(loss).all()  # device ops only: no sync
        first.masked_fill_(new, step)
        self._first_bad_value[name] = torch.where(new, loss.reshape(-1)[0], self._first_bad_value[name])

    def check(self, trainer: L.Trainer) -> None:
        """Raise ``NonFiniteLossError`` if any loss was non-finite since training started (one host sync)."""
        if not self._first_bad_step:
            return
        names = list(self._first_bad_step)
        steps = torch.stack([self._first_bad_step[n] for n in names]).tolist()
        bad = [(step, name) for step, name in zip(steps, names) if step >= 0]
        if not bad:
            return
        step, name = min(bad)
        value = float(self._first_bad_value[name])
        raise NonFiniteLossError(
            f"the {LOSS_NETWORKS[name]} loss {name} became {value} at global step {step}; training stopped and "
            f"no checkpoint was written after it (last.ckpt keeps the last finite state). Lower the learning rate, "
            f"try --trainer.precision 32 or --trainer.gradient_clip_val, or check the data for NaN/inf"
        )

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        self.check(trainer)  # raising here aborts the save: a checkpoint never holds NaN weights

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.check(trainer)
