"""``NonFiniteGuard``: stop training when a loss goes NaN/inf, before a checkpoint can store the damage.

A non-finite D or G loss means that update wrote NaN/inf into the network's weights, and every later
step and checkpoint carries them. The guard reads the losses each step returns (``training_step``'s
stats arrive as ``outputs`` in ``on_train_batch_end``) and copies them, on the device, into a buffer with
one row per batch since the last check: one ``copy_`` per loss, where keeping a running "first bad step"
record took several small tensor ops. It reads the buffer (one host sync) only

* every ``check_every_n_steps`` steps (default: the trainer's ``log_every_n_steps``, when the logger
  syncs anyway), and when the buffer is full (at most 4,096 rows),
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
LOSS_NAMES = list(LOSS_NETWORKS)
MAX_ROWS = 4096  # a check happens at least every this many batches, whatever check_every_n_steps says


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
        self._losses: Tensor | None = None  # (capacity, len(LOSS_NAMES)): the losses since the last check
        self._slots: list[list[Tensor]] = []  # views of its rows, made once: recording is a single copy_
        self._steps: list[int] = []  # host: the global step of each recorded row

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._losses, self._slots, self._steps = None, [], []

    def _capacity(self, trainer: L.Trainer) -> int:
        return min(MAX_ROWS, self.check_every_n_steps or max(1, trainer.log_every_n_steps))

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx) -> None:
        if isinstance(outputs, dict):
            losses = [(column, outputs.get(name)) for column, name in enumerate(LOSS_NAMES)]
            losses = [(column, loss) for column, loss in losses if isinstance(loss, Tensor)]
            if losses:
                if self._losses is None:
                    capacity = self._capacity(trainer)
                    self._losses = torch.zeros(capacity, len(LOSS_NAMES), dtype=torch.float32, device=losses[0][1].device)
                    self._slots = [list(row.unbind()) for row in self._losses.unbind()]
                row = self._slots[len(self._steps)]
                for column, loss in losses:  # device copies only: no sync
                    row[column].copy_(loss.detach() if loss.dim() == 0 else loss.detach().sum())
                self._steps.append(trainer.global_step)  # the step whose updates just ran
        every = self.check_every_n_steps or max(1, trainer.log_every_n_steps)
        if trainer.global_step % every == 0 or len(self._steps) == len(self._slots):
            self.check(trainer)

    def check(self, trainer: L.Trainer) -> None:
        """Raise ``NonFiniteLossError`` if a loss recorded since the last check is not finite (one host sync)."""
        if not self._steps:
            return
        recorded = self._losses[: len(self._steps)]
        bad = ~torch.isfinite(recorded)
        if bool(bad.any()):
            row, column = (int(i) for i in bad.nonzero()[0])  # rows in step order, columns in LOSS_NAMES order
            name, value, step = LOSS_NAMES[column], float(recorded[row, column]), self._steps[row]
            raise NonFiniteLossError(
                f"the {LOSS_NETWORKS[name]} loss {name} became {value} at global step {step}; training stopped and "
                f"no checkpoint was written after it (last.ckpt keeps the last finite state). Lower the learning rate, "
                f"try --trainer.precision 32 or --trainer.gradient_clip_val, or check the data for NaN/inf"
            )
        self._losses.zero_()
        self._steps = []

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        self.check(trainer)  # raising here aborts the save: a checkpoint never holds NaN weights

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.check(trainer)
