"""Latent traversals for models with a categorical and continuous codes (InfoGAN, Chen et al. 2016, Fig. 2).

One image per continuous code j: rows = the categorical code's values, columns = c_j swept over
``[-span, span]`` (beyond the training range U(−1, 1), as the paper does with −2…2), one shared z, the
other continuous codes at 0. Saved as ``<log_dir>/traversals/c{j}_g_step_XXXXXX.png`` and sent to the
configured logger (W&B or TensorBoard; for other loggers the PNG is the record).

Protocol the model must offer: ``num_continuous`` (int) and
``traverse(code, values, seed) -> (rows, columns, C, H, W)`` images in [-1, 1].
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch

from gan_zoo.callbacks.periodic import PeriodicCallback
from gan_zoo.callbacks.sample_grid import to_grid

__all__ = ["LatentTraversal"]


class LatentTraversal(PeriodicCallback):
    """Every ``every_n_g_steps`` generator updates (and at the end of fit), save one traversal grid per
    continuous code.

    Args:
        every_n_g_steps: period in G updates; 0 disables the periodic grids (the final one still comes).
        steps: columns per row (values of the swept code).
        span: the sweep is linspace(−span, span, steps); the paper's figures use 2.
        seed: the shared z.
    """

    def __init__(self, every_n_g_steps: int = 1000, steps: int = 9, span: float = 2.0, seed: int = 0) -> None:
        super().__init__(every_n_g_steps)
        if steps < 2:
            raise ValueError(f"steps must be >= 2 to show a sweep, got {steps}")
        self.steps = steps
        self.span = span
        self.seed = seed
        self.last_paths: list[Path] = []

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not (hasattr(pl_module, "traverse") and hasattr(pl_module, "num_continuous")):
            raise TypeError(
                f"LatentTraversal needs a model with latent codes (`traverse`, `num_continuous`), e.g. InfoGAN; "
                f"{type(pl_module).__name__} has none: remove the callback from the config"
            )

    def run(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        values = torch.linspace(-self.span, self.span, self.steps)
        g_step = pl_module.num_g_updates
        self.last_paths = []
        for code in range(int(pl_module.num_continuous)):
            images = pl_module.traverse(code, values, seed=self.seed)  # (rows, steps, C, H, W)
            grid = to_grid(images.flatten(0, 1), nrow=self.steps)  # one row per categorical value
            self.last_paths.append(self.write_png(trainer, f"traversals/c{code}_g_step_{g_step:06d}.png", grid))
            self.log_image(trainer, f"traversal/c{code}", grid)
