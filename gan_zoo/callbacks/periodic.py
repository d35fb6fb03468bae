"""``PeriodicCallback``: do something every N generator updates and once at the end of fit.

The sample grid, the latent traversal, the metrics and ProGAN's fade-in share one trigger and one way to
publish an image, written here:

* **Trigger in generator updates**, read from the host counter ``pl_module.num_g_updates`` (a Python
  int the ``GANModule`` keeps beside its ``g_updates`` buffer), so deciding costs no device sync.
  Lightning's ``global_step`` is no substitute: it counts both optimizers' steps. ``run`` fires after a
  batch whose G update count is a positive multiple of ``every_n_g_steps`` (each count once: with
  n_critic > 1 several batches end on the same count), and at the end of fit unless the final count
  was already done. ``every_n_g_steps = 0`` keeps only the end-of-fit run.
* **Rank 0 only**: every rank keeps the bookkeeping, only global rank 0 calls ``run``.
* **Logger-agnostic images**: ``log_image`` sends an image to W&B (``log_image``) or TensorBoard
  (``add_image``); for other loggers (CSV, none) the PNG that ``write_png`` saves atomically under the
  run folder is the record. ``log_scalars`` goes through ``pl_module.log_dict`` inside the loop and
  straight to the loggers at the end of fit, where Lightning forbids ``self.log``.

A subclass writes ``run(trainer, pl_module)``.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from torch import Tensor
from torchvision.utils import save_image

from gan_zoo.errors import GanZooError
from gan_zoo.outputs import write_atomic

__all__ = ["PeriodicCallback", "save_png_atomic", "run_dir"]


def run_dir(trainer: L.Trainer) -> Path:
    """The folder of this run: the logger's ``log_dir``, else the trainer's ``default_root_dir``.

    ``trainer.log_dir`` is a collective under DDP (a broadcast from rank 0), so a call from rank 0 alone
    would wait for ever: ``PeriodicCallback.setup`` resolves it on every rank and keeps it on the trainer.
    """
    folder = getattr(trainer, "_gan_zoo_run_dir", None)
    return folder if folder is not None else Path(trainer.log_dir or trainer.default_root_dir)


def save_png_atomic(image: Tensor, path: Path) -> None:
    """Write the PNG to a temporary name and rename, so a crash never leaves a half-written file."""
    write_atomic(path, lambda tmp: save_image(image, tmp, format="png"))


class PeriodicCallback(L.Callback):
    """Calls ``run(trainer, pl_module)`` every ``every_n_g_steps`` generator updates and at the end of fit.

    Args:
        every_n_g_steps: period in G updates (``pl_module.num_g_updates``); 0: only at the end of fit.
        at_train_end: also run when fit ends (if that G update count was not done yet).
    """

    def __init__(self, every_n_g_steps: int, at_train_end: bool = True) -> None:
        super().__init__()
        if every_n_g_steps < 0:
            raise GanZooError(f"every_n_g_steps must be >= 0 (0: only at the end of fit), got {every_n_g_steps}")
        self.every_n_g_steps = every_n_g_steps
        self.at_train_end = at_train_end
        self.last_run_g_step = -1  # the G update count of the last run (on every rank)
        self._ending = False  # inside on_train_end: Lightning forbids pl_module.log there

    @property
    def state_key(self) -> str:
        # unique per schedule, so several periodic callbacks of one class can be checkpointed side by side
        return self._generate_state_key(every_n_g_steps=self.every_n_g_steps, at_train_end=self.at_train_end)

    def state_dict(self) -> dict[str, int]:
        return {"last_run_g_step": self.last_run_g_step}  # a resumed run does not repeat that G step's work

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        self.last_run_g_step = state_dict.get("last_run_g_step", -1)

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        # On every rank (see run_dir): ``run`` happens on rank 0 only and must not start a collective.
        trainer._gan_zoo_run_dir = Path(trainer.log_dir or trainer.default_root_dir)

    def run(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """The periodic work; runs on global rank 0 only."""
        raise NotImplementedError

    # ------------------------------------------------------------------ trigger
    def due(self, g_step: int) -> bool:
        """Whether the periodic schedule asks for a run at G update count ``g_step``."""
        return (
            self.every_n_g_steps > 0 and g_step > 0 and g_step % self.every_n_g_steps == 0
            and g_step != self.last_run_g_step
        )

    def _run_at(self, g_step: int, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.last_run_g_step = g_step
        if trainer.is_global_zero:
            self.run(trainer, pl_module)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args) -> None:
        g_step = pl_module.num_g_updates  # host int: no device sync
        if self.due(g_step):
            self._run_at(g_step, trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        g_step = pl_module.num_g_updates  # host int: no device sync
        if self.at_train_end and g_step != self.last_run_g_step:
            self._ending = True
            try:
                self._run_at(g_step, trainer, pl_module)
            finally:
                self._ending = False

    # ------------------------------------------------------------------ publishing
    @staticmethod
    def log_image(trainer: L.Trainer, key: str, image: Tensor) -> None:
        """Send ``image`` (C, H, W) in [0, 1] to every logger that takes images (W&B, TensorBoard)."""
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image(key, [image], step=trainer.global_step)
            elif isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image(key, image, global_step=trainer.global_step)

    @staticmethod
    def write_png(trainer: L.Trainer, relative_path: str, image: Tensor) -> Path:
        """Save ``image`` (C, H, W) in [0, 1] as ``<run folder>/<relative_path>``, atomically; returns the path."""
        path = run_dir(trainer) / relative_path
        save_png_atomic(image, path)
        return path

    def log_scalars(self, trainer: L.Trainer, pl_module: L.LightningModule, scalars: dict[str, float]) -> None:
        """Log ``scalars`` to every configured logger at ``trainer.global_step``."""
        if self._ending:  # outside the training loop: write to the loggers directly
            for logger in trainer.loggers:
                logger.log_metrics(scalars, step=trainer.global_step)
        else:  # through Lightning, so callback_metrics (and checkpoint monitors) see them too
            pl_module.log_dict(scalars, on_step=True, on_epoch=False, rank_zero_only=True)
