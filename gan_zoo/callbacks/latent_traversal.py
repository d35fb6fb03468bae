"""Latent traversals for models with a categorical and continuous codes (InfoGAN, Chen et al. 2016, Fig. 2).

One image per continuous code j: rows = the categorical code's values, columns = c_j swept over
``[-span, span]`` (beyond the training range U(−1, 1), as the paper does with −2…2), one shared z, the
other continuous codes at 0. Saved as ``<log_dir>/traversals/c{j}_g_step_XXXXXX.png`` and sent to the
configured logger (W&B or TensorBoard; for other loggers the PNG is the record).

Protocol the model must offer: ``num_continuous`` (int), ``g_updates`` (buffer) and
``traverse(code, values, seed) -> (rows, columns, C, H, W)`` images in [-1, 1].
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger

from gan_zoo.callbacks.sample_grid import save_png_atomic, to_grid

__all__ = ["LatentTraversal"]


class LatentTraversal(L.Callback):
    """Every ``every_n_g_steps`` generator updates (and at the end of fit), save one traversal grid per
    continuous code.

    Args:
        every_n_g_steps: period in G updates; 0 disables the periodic grids (the final one still comes).
        steps: columns per row (values of the swept code).
        span: the sweep is linspace(−span, span, steps); the paper's figures use 2.
        seed: the shared z.
    """

    def __init__(self, every_n_g_steps: int = 1000, steps: int = 9, span: float = 2.0, seed: int = 0) -> None:
        super().__init__()
        if steps < 2:
            raise ValueError(f"steps must be >= 2 to show a sweep, got {steps}")
        self.every_n_g_steps = every_n_g_steps
        self.steps = steps
        self.span = span
        self.seed = seed
        self.last_paths: list[Path] = []
        self._last_logged = -1

    @staticmethod
    def _check(pl_module: L.LightningModule) -> None:
        if not (hasattr(pl_module, "traverse") and hasattr(pl_module, "num_continuous")):
            raise TypeError(
                f"LatentTraversal needs a model with latent codes (`traverse`, `num_continuous`), e.g. InfoGAN; "
                f"{type(pl_module).__name__} has none: remove the callback from the config"
            )

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._check(pl_module)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args) -> None:
        g_updates = int(pl_module.g_updates)
        if self.every_n_g_steps > 0 and g_updates % self.every_n_g_steps == 0 and g_updates != self._last_logged:
            self.log_traversals(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if int(pl_module.g_updates) != self._last_logged:
            self.log_traversals(trainer, pl_module)

    def log_traversals(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        g_updates = int(pl_module.g_updates)
        self._last_logged = g_updates
        if not trainer.is_global_zero:
            return
        values = torch.linspace(-self.span, self.span, self.steps)
        root = Path(trainer.log_dir or trainer.default_root_dir)
        self.last_paths = []
        for code in range(int(pl_module.num_continuous)):
            images = pl_module.traverse(code, values, seed=self.seed)  # (rows, steps, C, H, W)
            grid = to_grid(images.flatten(0, 1), nrow=self.steps)  # one row per categorical value
            path = root / "traversals" / f"c{code}_g_step_{g_updates:06d}.png"
            save_png_atomic(grid, path)
            self.last_paths.append(path)
            for logger in trainer.loggers:
                if isinstance(logger, WandbLogger):
                    logger.log_image(f"traversal/c{code}", [grid], step=trainer.global_step)
                elif isinstance(logger, TensorBoardLogger):
                    logger.experiment.add_image(f"traversal/c{code}", grid, global_step=trainer.global_step)
