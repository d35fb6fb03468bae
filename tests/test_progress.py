"""ThrottledProgressBar: redraws by the clock, always draws an epoch's last batch, and is what gan-zoo fit uses."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from lightning.pytorch.callbacks import TQDMProgressBar

import gan_zoo.callbacks.progress as progress
from gan_zoo.callbacks import ThrottledProgressBar
from gan_zoo.cli import cli_main
from helpers import DIGITS


def drawn_batches(monkeypatch, interval: float, tick: float, total: int, epochs: int = 1) -> list[tuple[int, int]]:
    """Drive the bar through ``epochs`` epochs of ``total`` batches, the clock advancing ``tick`` s per batch;
    returns the (epoch, batch_idx) that reached Lightning's drawing code."""
    clock = iter(i * tick for i in range(10_000))
    monkeypatch.setattr(progress, "_now", lambda: next(clock))
    drawn = []
    monkeypatch.setattr(TQDMProgressBar, "on_train_batch_end", lambda self, t, m, o, b, i: drawn.append((epoch, i)))
    monkeypatch.setattr(TQDMProgressBar, "on_train_epoch_start", lambda self, trainer, *a: None)
    bar = ThrottledProgressBar(min_interval_s=interval)
    bar.train_progress_bar = SimpleNamespace(total=total)
    for epoch in range(epochs):
        bar.on_train_epoch_start(None)
        for i in range(total):
            bar.on_train_batch_end(None, None, None, None, i)
    return drawn


def test_redraws_at_most_once_per_interval_and_on_the_last_batch(monkeypatch):
    # clock 0, 0.3, 0.6, ...: with a 1 s interval, batch i is drawn when 0.3 * (i - last drawn) >= 1,
    # i.e. every 4th batch from 0 (0, 4, 8), plus the epoch's last batch (9)
    assert drawn_batches(monkeypatch, interval=1.0, tick=0.3, total=10) == [(0, 0), (0, 4), (0, 8), (0, 9)]


def test_every_epoch_starts_with_a_drawn_batch(monkeypatch):
    # the second epoch's first batch comes 0.3 s after the first epoch's last draw, and is drawn anyway
    drawn = drawn_batches(monkeypatch, interval=1.0, tick=0.3, total=3, epochs=2)
    assert drawn == [(0, 0), (0, 2), (1, 0), (1, 2)]


def test_zero_interval_draws_every_batch_like_lightnings_bar(monkeypatch):
    assert drawn_batches(monkeypatch, interval=0.0, tick=0.0, total=5) == [(0, i) for i in range(5)]


def test_negative_interval_is_refused():
    with pytest.raises(ValueError, match="min_interval_s"):
        ThrottledProgressBar(min_interval_s=-1)


@pytest.mark.parametrize(
    "extra, expected",
    [
        ([], ThrottledProgressBar),  # gan-zoo's default bar
        (["--trainer.enable_progress_bar=false"], None),  # still switched off by the trainer flag
        (["--trainer.callbacks+=TQDMProgressBar", "--trainer.callbacks.refresh_rate=7"], TQDMProgressBar),  # a named bar is kept
    ],
)
def test_gan_zoo_fit_uses_the_throttled_bar_unless_told_otherwise(tmp_path, extra, expected):
    cli = cli_main(["--config", DIGITS, f"--trainer.default_root_dir={tmp_path}", *extra], run=False)
    bar = cli.trainer.progress_bar_callback
    assert (None if bar is None else type(bar)) is expected
    if expected is TQDMProgressBar:
        assert bar.refresh_rate == 7


@pytest.mark.parametrize("enabled", [False, True])
def test_the_compile_callback_is_on_the_trainer_only_when_enabled(tmp_path, enabled):
    from gan_zoo.callbacks import CompileNets

    cli = cli_main(["--config", DIGITS, f"--trainer.default_root_dir={tmp_path}", f"--compile.enabled={enabled}"], run=False)
    assert sum(isinstance(c, CompileNets) for c in cli.trainer.callbacks) == int(enabled)


@pytest.mark.parametrize("terminal, expected", [(True, progress.TERMINAL_INTERVAL_S), (False, progress.FILE_INTERVAL_S)])
def test_default_interval_is_longer_when_stdout_is_a_file(monkeypatch, terminal, expected):
    # In a log file every redraw is appended, not drawn over the last one: redraw rarely there.
    monkeypatch.setattr(progress.sys, "stdout", SimpleNamespace(isatty=lambda: terminal))
    assert ThrottledProgressBar().min_interval_s == expected
    assert ThrottledProgressBar(min_interval_s=0.5).min_interval_s == 0.5  # an explicit interval is kept
    assert progress.FILE_INTERVAL_S >= 10 * progress.TERMINAL_INTERVAL_S


def test_a_stdout_without_isatty_counts_as_a_file(monkeypatch):
    monkeypatch.setattr(progress.sys, "stdout", object())  # some wrappers (notebook streams) lack isatty
    assert ThrottledProgressBar().min_interval_s == progress.FILE_INTERVAL_S
