"""The one sampling-and-scoring driver: ``gan-zoo evaluate`` and ``MetricsCallback`` both score through it.

Protocol (recorded in every result's ``notes``):

* Samples come from ``model.sample(n_i, labels=y_i, seed=seed + i)`` in batches i = 0, 1, ... of
  ``batch_size`` (the last one may be shorter): a value is reproducible from the weights, ``seed``,
  ``batch_size`` and ``num_samples``, and a ``GANModule`` and the pretrained generator exported from it
  score the same.
* A generator that takes labels (cGAN classes, InfoGAN's categorical code) gets
  ``balanced_labels(num_samples, K)`` = arange(num_samples) % K, sliced per batch. Slicing one balanced
  draw keeps the whole draw balanced whatever the batch size; balancing each batch on its own
  (arange(n_i) % K) would favour the first classes whenever K does not divide ``batch_size``.
* The suite's real statistics are computed once: ``reference()`` is called only while the suite has none,
  and the real images take the samples' resize path (``MetricSuite.set_reference(match_size=...)``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import NamedTuple, Protocol as TypingProtocol

from torch import Tensor, nn

from gan_zoo.errors import GanZooError
from gan_zoo.metrics.protocol import MetricResult
from gan_zoo.metrics.suite import MetricSuite
from gan_zoo.sampling import balanced_labels, label_count

__all__ = ["Sampler", "SampleDraw", "crop_center", "draw_samples", "sample_batches", "score_generator"]


class Sampler(TypingProtocol):
    """What the driver samples from: a ``GANModule`` or a ``PretrainedGenerator``."""

    generator: nn.Module

    def sample(self, n: int, labels: Tensor | None = None, seed: int | None = None) -> Tensor: ...


class SampleDraw(NamedTuple):
    """``sample_batches``' result: the batches (drawn as they are consumed), the labels they are drawn with
    ((num_samples,) on the CPU, or ``None`` for an unconditional generator) and a note naming those labels."""

    batches: Iterator[Tensor]
    labels: Tensor | None
    labels_note: str


def sample_batches(
    model: Sampler,
    num_samples: int,
    batch_size: int,
    seed: int,
    use_ema: bool | None = None,
    labels: Tensor | None = None,
    labels_note: str = "given by the caller",
) -> SampleDraw:
    """The batches of the protocol above (float32, on the model's device), drawn one at a time as they are
    consumed, with their labels. A scorer that drops each batch after scoring it holds one batch, not
    ``num_samples`` images (50,000 CelebA-128 samples are 9.8 GB in float32).

    ``use_ema`` goes to ``GANModule.sample`` when given (a pretrained generator holds one net only). ``labels``
    (num_samples,) replaces the balanced labels of a conditional generator (``gan-zoo sample --labels``), and
    ``labels_note`` says where they came from.
    """
    if num_samples < 1 or batch_size < 1:
        raise GanZooError(f"num_samples and batch_size must be >= 1, got {num_samples} and {batch_size}")
    num_labels = label_count(model.generator)
    if labels is not None:
        if num_labels is None or tuple(labels.shape) != (num_samples,):
            raise GanZooError(f"labels of shape (num_samples,) = ({num_samples},) for a conditional generator only")
        note = labels_note
    elif num_labels is not None:
        labels = balanced_labels(num_samples, num_labels)
        note = f"balanced_labels({num_samples}, {num_labels}) = arange % {num_labels}"
    else:
        note = "none"
    options = {} if use_ema is None else {"use_ema": use_ema}

    def batches() -> Iterator[Tensor]:
        for i, start in enumerate(range(0, num_samples, batch_size)):
            stop = min(start + batch_size, num_samples)
            batch_labels = None if labels is None else labels[start:stop]
            yield model.sample(stop - start, labels=batch_labels, seed=seed + i, **options).float()

    return SampleDraw(batches(), labels, note)


def draw_samples(
    model: Sampler, num_samples: int, batch_size: int, seed: int, use_ema: bool | None = None
) -> tuple[list[Tensor], str]:
    """``sample_batches`` as a list with the labels' note (every batch held at once: for small draws and tests)."""
    draw = sample_batches(model, num_samples, batch_size, seed, use_ema)
    return list(draw.batches), draw.labels_note


def crop_center(images: Tensor, size: int, source: str) -> Tensor:
    """The central ``size`` x ``size`` pixels of ``images`` (..., H, W): the inverse of the data modules' padding
    (``image_fit: pad``), which puts the odd pixel, if any, right and bottom, so the window starts at
    (H − size) // 2. (torchvision's ``center_crop`` rounds half to even there: one pixel off for 28 in 35.)"""
    height, width = images.shape[-2:]
    if not 1 <= size <= min(height, width):
        raise GanZooError(f"center crop {size} does not fit {source}'s {height}x{width} samples; "
                          f"give a size from 1 to {min(height, width)}")
    top, left = (height - size) // 2, (width - size) // 2
    return images[..., top:top + size, left:left + size]


def score_generator(
    model: Sampler,
    suite: MetricSuite,
    *,
    num_samples: int,
    batch_size: int,
    seed: int,
    source: str,
    reference: Callable[[], tuple[Tensor, str]] | None = None,
    use_ema: bool | None = None,
    notes: dict | None = None,
    labels: Tensor | None = None,
    labels_note: str = "given by the caller",
    center_crop: int | None = None,
) -> dict[str, MetricResult]:
    """Draw ``num_samples`` samples from ``model`` and score them with ``suite``.

    Args:
        model: a ``GANModule`` or a ``PretrainedGenerator``.
        suite: the metrics; real statistics are kept across calls.
        num_samples, batch_size, seed: the sampling protocol (module docstring).
        source: names the model in errors and in the results' notes.
        reference: ``() -> (real images (N, C, H, W) in [-1, 1], description)``; called once, when the
            suite needs real statistics and has none yet.
        use_ema: sample from a ``GANModule``'s EMA generator (``None``: its default).
        notes: extra protocol notes (e.g. the G update count).
        labels, labels_note: labels (num_samples,) to draw with instead of the balanced ones, and their origin
            (``gan-zoo evaluate --samples`` passes those stored with the files).
        center_crop: score the central ``center_crop`` x ``center_crop`` pixels of each sample (a generator
            trained on padded images, ``image_fit: pad``: its border is the padding, not the image), so the
            real images, already at that size, are not resized; the crop is recorded in the protocol's notes.
    The labels the samples were drawn with reach the suite (label and code accuracy).
    """
    batches, labels, labels_note = sample_batches(model, num_samples, batch_size, seed, use_ema, labels, labels_note)
    suite.check_labels(labels)  # before any sampling or real statistics
    first = next(batches)  # the rest are drawn while the suite scores them, one batch in memory at a time
    if first.dim() != 4:
        raise GanZooError(
            f"{source} produces samples of shape {tuple(first.shape[1:])}, not images; "
            "use gan_zoo.metrics.toy_mode_coverage for 2-D toy models"
        )
    crop_notes = {}
    if center_crop is not None:
        height, width = first.shape[-2:]
        first, batches = crop_center(first, center_crop, source), (crop_center(b, center_crop, source) for b in batches)
        crop_notes = {"center_crop": f"{height}x{width} -> {center_crop}x{center_crop} (the padding removed)"}
    if suite.needs_reference and suite.reference is None:
        if reference is None:
            raise GanZooError(f"metrics {suite.metrics} compare with real images: give a reference")
        real, description = reference()
        suite.set_reference(real, description, match_size=first.shape[-1])
    protocol_notes = {"source": source, "labels": labels_note, "seed_scheme": "batch i uses seed + i",
                      "batch_size": batch_size, **crop_notes, **(notes or {})}
    return suite.compute(itertools.chain([first], batches), seed=seed, notes=protocol_notes, labels=labels)
