"""Callbacks: logger-agnostic sample grids (and, later, metrics, fade-in, traversals)."""

from gan_zoo.callbacks.latent_traversal import LatentTraversal
from gan_zoo.callbacks.metrics import MetricsCallback
from gan_zoo.callbacks.sample_grid import SampleGrid, render_points, to_grid

__all__ = ["MetricsCallback", "LatentTraversal", "SampleGrid", "render_points", "to_grid"]
