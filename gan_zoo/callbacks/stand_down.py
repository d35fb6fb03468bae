"""Take callbacks that only act before training out of the per-step hook calls (issue 11).

Lightning calls every hook of every callback in ``trainer.callbacks`` on every step (about 16 calls a step per
callback, each inside a profiler context), whether the callback overrides the hook or not. LightningCLI's
``SaveConfigCallback`` (writes ``config.yaml`` in ``setup``) and Lightning's ``ModelSummary`` (prints in
``on_fit_start``) have done all they do by the time the training loop starts, yet each still costs those calls
on every step of a ``gan-zoo fit`` run.
"""

from __future__ import annotations

from typing import Sequence

import lightning as L
from lightning.pytorch.callbacks import ModelSummary
from lightning.pytorch.cli import SaveConfigCallback

__all__ = ["StandDownAfterSetup"]


class StandDownAfterSetup(L.Callback):
    """While the training loop runs, ``trainer.callbacks`` leaves out the callbacks of ``kinds``; they are put
    back when training ends or fails, so a later ``validate``/``fit`` on the same trainer has them again.

    Args:
        kinds: the callback classes to leave out (default: ``SaveConfigCallback`` and ``ModelSummary``).
    """

    def __init__(self, kinds: Sequence[type] = (SaveConfigCallback, ModelSummary)) -> None:
        self.kinds = tuple(kinds)
        self._all: list[L.Callback] | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._all = trainer.callbacks
        # A new list, not an edit in place: the loop calling this hook is iterating over the old one.
        trainer.callbacks = [c for c in self._all if not isinstance(c, self.kinds)]

    def _put_back(self, trainer: L.Trainer) -> None:
        if self._all is not None:
            trainer.callbacks, self._all = self._all, None

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._put_back(trainer)

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        self._put_back(trainer)
