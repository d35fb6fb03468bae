"""A training progress bar that redraws by the clock, not by the batch.

Lightning's ``TQDMProgressBar`` redraws every ``refresh_rate`` batches (default 1), and each redraw writes twice
(the count, then the postfix of logged metrics), formats the postfix and measures the line's display width
character by character. At the step rates these models reach on a GPU (100-200 steps/s for DCGAN-MNIST) that is
hundreds of terminal writes a second that nobody can read. On the CPU proxy of ``benchmarks/throughput.py``,
``benchmarks/python_calls.py`` counted 3,850 Python calls per step in a bare ``Trainer`` and 5,710 as ``gan-zoo
fit`` ran it; with this bar (and the compile callback off the trainer when disabled), 4,799. ``ThrottledProgressBar`` draws the training bar at most once per
``min_interval_s`` seconds and always on an epoch's last batch; the numbers it shows are the same.

When standard output is not a terminal (a log file, a pipe, a cluster job's output), every redraw is appended
to the file rather than drawn over the last one: at 0.2 s a 16,000-step BEGAN run on the CPU wrote 1.2 MB of
bar in 20 minutes. There the default interval is 30 s instead.

``gan-zoo`` uses it in place of Lightning's default bar; a bar named in ``--trainer.callbacks`` is left as it is,
and ``--trainer.enable_progress_bar false`` still turns the bar off.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import TQDMProgressBar

__all__ = ["ThrottledProgressBar"]


TERMINAL_INTERVAL_S = 0.2  # redraws a person can follow
FILE_INTERVAL_S = 30.0  # a line of the output file every 30 s: about 120 per hour of training


def _now() -> float:
    return time.monotonic()  # a module function so tests can drive the clock


def _stdout_is_terminal() -> bool:
    isatty = getattr(sys.stdout, "isatty", None)  # Lightning's bars write to sys.stdout
    return bool(isatty and isatty())


class ThrottledProgressBar(TQDMProgressBar):
    """``TQDMProgressBar`` whose training bar redraws at most every ``min_interval_s`` seconds.

    Args:
        min_interval_s: the least time between two redraws of the training bar (an epoch's last batch is
            always drawn). ``0`` redraws every batch, as Lightning's default bar does. ``None`` (default):
            0.2 s when standard output is a terminal, 30 s when it is a file or a pipe.
        process_position, leave: as in ``TQDMProgressBar``.
    """

    def __init__(self, min_interval_s: float | None = None, process_position: int = 0, leave: bool = False) -> None:
        if min_interval_s is None:
            min_interval_s = TERMINAL_INTERVAL_S if _stdout_is_terminal() else FILE_INTERVAL_S
        if not min_interval_s >= 0:
            raise ValueError(f"min_interval_s must be >= 0, got {min_interval_s}")
        super().__init__(refresh_rate=1, process_position=process_position, leave=leave)
        self.min_interval_s = min_interval_s
        self._last_draw = -math.inf

    def on_train_epoch_start(self, trainer: L.Trainer, *args: Any) -> None:
        super().on_train_epoch_start(trainer, *args)
        self._last_draw = -math.inf  # the first batch of every epoch is drawn

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        now = _now()
        last_of_epoch = batch_idx + 1 == self.train_progress_bar.total
        if now - self._last_draw < self.min_interval_s and not last_of_epoch:
            return
        self._last_draw = now
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
