"""Sample grids from fixed noise, saved as PNG and sent to whatever logger is configured."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from torch import Tensor
from torchvision.utils import make_grid

from gan_zoo.callbacks.periodic import PeriodicCallback, save_png_atomic

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


class SampleGrid(PeriodicCallback):
    """Every ``every_n_g_steps`` generator updates (and at the end of fit), draw ``num_samples`` samples
    from fixed noise (``seed``) with ``model.sample`` and save ``<log_dir>/samples/g_step_XXXXXX.png``.

    The same picture goes to the logger: W&B or TensorBoard; for other loggers (CSV) the PNG is the
    record (see ``PeriodicCallback``). Conditional models choose the labels (one row per class).
    """

    def __init__(self, every_n_g_steps: int = 500, num_samples: int = 64, seed: int = 0) -> None:
        super().__init__(every_n_g_steps)
        self.num_samples = num_samples
        self.seed = seed
        self.last_path: Path | None = None

    def run(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        labels = pl_module.grid_labels(self.num_samples)
        samples = pl_module.sample(self.num_samples, labels=labels, seed=self.seed)
        nrow = None if labels is None else int((labels == labels[0]).sum())  # one row per class
        grid = to_grid(samples, nrow)
        self.last_path = self.write_png(trainer, f"samples/g_step_{pl_module.num_g_updates:06d}.png", grid)
        self.log_image(trainer, "samples", grid)
