"""Callbacks: logger-agnostic sample grids, metrics during fit, latent traversals, checkpoints."""

from gan_zoo.callbacks.checkpoint import GANCheckpoint
from gan_zoo.callbacks.compile import CompileNets
from gan_zoo.callbacks.dispatch import NoOpProfiler, skip_inherited_step_hooks
from gan_zoo.callbacks.fade_in import ProgressiveGrowing
from gan_zoo.callbacks.latent_traversal import LatentTraversal
from gan_zoo.callbacks.memory_format import ChannelsLast
from gan_zoo.callbacks.metrics import MetricsCallback
from gan_zoo.callbacks.nonfinite import NonFiniteGuard
from gan_zoo.callbacks.progress import ThrottledProgressBar
from gan_zoo.callbacks.sample_grid import SampleGrid, render_points, to_grid

__all__ = [
    "GANCheckpoint", "ChannelsLast", "CompileNets", "ProgressiveGrowing", "MetricsCallback", "NonFiniteGuard", "LatentTraversal", "SampleGrid",
    "ThrottledProgressBar",
    "NoOpProfiler", "render_points", "skip_inherited_step_hooks", "to_grid",
]
