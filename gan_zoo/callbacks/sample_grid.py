"""Sample grids from fixed noise, saved as PNG and sent to whatever logger is configured."""

from __future__ import annotations

import os
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from torch import Tensor
from torchvision.utils import make_grid, save_image

__all__ = ["SampleGrid", "render_points", "to_grid", "save_png_atomic"]


def render_points(points: Tensor, size: int = 256, extent: float | None = None) -> Tensor:
    """Scatter 2-D points (N, 2) into an RGB image (3, size, size) in [0, 1]: white background, dark dots.

    ``extent`` is the half-width of the square shown; default: fit the points (at least 1).
    """
    pts = points.detach().float().cpu()
    half = extent if extent is not None else max(1.0, float(pts.abs().max()) * 1.1)
    ij = ((pts / half + 1) / 2 * (size - 1)).round().long()  # (N, 2) pixel coordinates
    inside = ((ij >= 0) & (ij < size)).all(dim=1)
    ij = ij[inside]
    counts = torch.zeros(size * size)
    counts.index_add_(0, (size - 1 - ij[:, 1]) * size + ij[:, 0], torch.ones(len(ij)))  # y grows upward
    ink = (counts.view(size, size) > 0).float()
    image = 1 - 0.8 * ink
    return image.expand(3, size, size).clone()


def to_grid(samples: Tensor, nrow: int | None = None) -> Tensor:
    """Samples (N, C, H, W) in [-1, 1] or points (N, 2) -> one RGB/gray image (C, H', W') in [0, 1]."""
    if samples.dim() == 2 and samples.shape[1] == 2:
        return render_points(samples)
    nrow = nrow or max(1, int(len(samples) ** 0.5))
    return make_grid(samples.detach().float().cpu(), nrow=nrow, normalize=True, value_range=(-1, 1), padding=2)


def save_png_atomic(image: Tensor, path: Path) -> None:
    """Write the PNG to a temporary name and rename, so a crash never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    save_image(image, tmp, format="png")
    os.replace(tmp, path)


class SampleGrid(L.Callback):
    """Every ``every_n_g_steps`` generator updates (and at the end of fit), draw ``num_samples`` samples
    from fixed noise (``seed``) with ``model.sample`` and save ``<log_dir>/samples/g_step_XXXXXX.png``.

    The same picture goes to the logger: W&B (``log_image``) or TensorBoard (``add_image``); for other
    loggers (CSV) the PNG is the record. Conditional models choose the labels (one row per class).
    """

    def __init__(self, every_n_g_steps: int = 500, num_samples: int = 64, seed: int = 0) -> None:
        super().__init__()
        self.every_n_g_steps = every_n_g_steps
        self.num_samples = num_samples
        self.seed = seed
        self.last_path: Path | None = None
        self._last_logged = -1

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args) -> None:
        g_updates = int(pl_module.g_updates)
        if self.every_n_g_steps > 0 and g_updates % self.every_n_g_steps == 0 and g_updates != self._last_logged:
            self.log_grid(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if int(pl_module.g_updates) != self._last_logged:
            self.log_grid(trainer, pl_module)

    def log_grid(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        g_updates = int(pl_module.g_updates)
        self._last_logged = g_updates
        if not trainer.is_global_zero:
            return
        labels = pl_module.grid_labels(self.num_samples)
        samples = pl_module.sample(self.num_samples, labels=labels, seed=self.seed)
        nrow = None if labels is None else int((labels == labels[0]).sum())  # one row per class
        grid = to_grid(samples, nrow)
        root = Path(trainer.log_dir or trainer.default_root_dir)
        self.last_path = root / "samples" / f"g_step_{g_updates:06d}.png"
        save_png_atomic(grid, self.last_path)
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image("samples", [grid], step=trainer.global_step)
            elif isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image("samples", grid, global_step=trainer.global_step)
