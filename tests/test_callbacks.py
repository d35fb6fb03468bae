"""The periodic-callback base and the sampling driver the callbacks and `gan-zoo evaluate` share."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger, WandbLogger
from torch import nn

from gan_zoo import create_model
from gan_zoo.callbacks.periodic import PeriodicCallback
from gan_zoo.errors import GanZooError
from gan_zoo.metrics.driver import draw_samples
from helpers import random_loader, tiny_trainer


class Recorder(PeriodicCallback):
    """Records (G update count, at the end of fit?) for every run, and logs one scalar per run."""

    def __init__(self, every_n_g_steps: int, **kwargs) -> None:
        super().__init__(every_n_g_steps, **kwargs)
        self.runs: list[tuple[int, bool]] = []

    def run(self, trainer, pl_module) -> None:
        self.runs.append((pl_module.num_g_updates, self._ending))
        self.log_scalars(trainer, pl_module, {"recorder/runs": float(len(self.runs))})


def fit_with(tmp_path, callbacks, n_batches: int = 14, **trainer_kwargs):
    """Tiny DCGAN with n_critic = 2: batch b (1-based) ends on G update count b // 2."""
    model = create_model("dcgan", tiny=True, n_critic=2)
    trainer = tiny_trainer(tmp_path, max_epochs=1, callbacks=callbacks, **trainer_kwargs)
    trainer.fit(model, random_loader((3, 32, 32), n=8 * n_batches, batch_size=8, num_classes=None))
    return model, trainer


def test_runs_every_n_generator_updates_once_each_and_at_the_end(tmp_path):
    every_two, every_three, end_only, no_end = Recorder(2), Recorder(3), Recorder(0), Recorder(3, at_train_end=False)
    model, trainer = fit_with(tmp_path, [every_two, every_three, end_only, no_end], logger=CSVLogger(tmp_path))
    assert (int(model.d_updates), int(model.g_updates)) == (14, 7)
    # counts 2 and 4 and 6 end two batches each (n_critic = 2), yet run once; 7 is not a multiple of 2,
    # so the end of fit adds a run outside the loop
    assert every_two.runs == [(2, False), (4, False), (6, False), (7, True)]
    assert every_three.runs == [(3, False), (6, False), (7, True)]
    assert end_only.runs == [(7, True)]
    assert no_end.runs == [(3, False), (6, False)]
    # inside the loop the scalar goes through pl_module.log, at the end straight to the loggers
    assert float(trainer.callback_metrics["recorder/runs"]) == 2.0  # every_three's second run; then the end
    logged = (tmp_path / "lightning_logs" / "version_0" / "metrics.csv").read_text()
    assert "recorder/runs" in logged


def test_no_run_when_the_end_was_already_done_and_none_on_other_ranks(tmp_path):
    every_seven = Recorder(7)
    fit_with(tmp_path, [every_seven])
    assert every_seven.runs == [(7, False)]  # the end of fit lands on 7, already done

    class Rank1Recorder(Recorder):
        def _run_at(self, g_step, trainer, pl_module):  # the trainer of rank 1 of 2
            super()._run_at(g_step, SimpleNamespace(is_global_zero=False), pl_module)

    rank1 = Rank1Recorder(2)
    fit_with(tmp_path, [rank1], n_batches=4)
    assert rank1.runs == [] and rank1.last_run_g_step == 2  # bookkeeping kept, no work


def test_negative_period_is_a_user_error():
    with pytest.raises(GanZooError, match="every_n_g_steps must be >= 0"):
        Recorder(-1)


class _RecordingExperiment:
    def __init__(self) -> None:
        self.images: list[tuple[str, torch.Tensor, int]] = []

    def add_image(self, key, image, global_step):
        self.images.append((key, image, global_step))


def test_log_image_goes_to_wandb_and_tensorboard_and_skips_others(tmp_path):
    class FakeTB(TensorBoardLogger):  # built without __init__: tensorboard need not be installed
        experiment = _RecordingExperiment()

    class FakeWandb(WandbLogger):
        def log_image(self, key, images, step=None, **kwargs):
            self.images = getattr(self, "images", []) + [(key, images, step)]

    tb, wb = object.__new__(FakeTB), object.__new__(FakeWandb)
    image = torch.rand(3, 8, 8)
    trainer = SimpleNamespace(loggers=[tb, CSVLogger(tmp_path), wb], global_step=12)
    PeriodicCallback.log_image(trainer, "samples", image)
    assert [(k, s) for k, _, s in tb.experiment.images] == [("samples", 12)]
    assert tb.experiment.images[0][1] is image
    assert wb.images == [("samples", [image], 12)]
    path = PeriodicCallback.write_png(SimpleNamespace(log_dir=str(tmp_path), default_root_dir=None), "a/b.png", image)
    assert path == tmp_path / "a" / "b.png" and path.stat().st_size > 0 and not list(path.parent.glob(".*tmp"))


class _RecordingSampler:
    """A conditional 'model' that records the calls the driver makes."""

    def __init__(self, num_classes: int | None) -> None:
        self.generator = nn.Module()
        if num_classes is not None:
            self.generator.num_classes = num_classes
        self.calls: list[tuple[int, torch.Tensor | None, int]] = []

    def sample(self, n, labels=None, seed=None):
        self.calls.append((n, labels, seed))
        return torch.full((n, 1, 4, 4), float(seed), dtype=torch.float64)


def test_driver_batches_seeds_and_labels_balanced_over_the_whole_draw():
    model = _RecordingSampler(num_classes=10)
    batches, note = draw_samples(model, num_samples=25, batch_size=8, seed=3)
    assert [(n, seed) for n, _, seed in model.calls] == [(8, 3), (8, 4), (8, 5), (1, 6)]
    labels = torch.cat([y for _, y, _ in model.calls])
    # 25 samples over 10 classes: five classes 3 times, five 2 times, whatever the batch size (8 here)
    assert torch.bincount(labels, minlength=10).tolist() == [3] * 5 + [2] * 5
    assert labels.tolist() == [i % 10 for i in range(25)]
    assert [b.dtype for b in batches] == [torch.float32] * 4 and batches[3].flatten().tolist() == [6.0] * 16
    assert "balanced" in note

    unconditional = _RecordingSampler(num_classes=None)
    _, note = draw_samples(unconditional, num_samples=5, batch_size=5, seed=0)
    assert unconditional.calls[0][1] is None and note == "none"


def test_driver_reproduces_a_model_and_its_pretrained_generator(tmp_path):
    from gan_zoo import load_pretrained, save_pretrained

    model = create_model("cgan", tiny=True)
    pretrained = load_pretrained(save_pretrained(model, tmp_path / "p"))
    from_model, _ = draw_samples(model, num_samples=12, batch_size=5, seed=7)
    from_pretrained, _ = draw_samples(pretrained, num_samples=12, batch_size=5, seed=7)
    assert all(torch.equal(a, b) for a, b in zip(from_model, from_pretrained))


def test_scoring_draws_each_batch_as_the_suite_consumes_it():
    """``score_generator`` keeps one batch or two of samples in memory, not the whole draw (50,000 CelebA-128
    samples are 9.8 GB): when a batch is drawn, at most the first batch (held for its shape) and the one
    being scored are still alive."""
    import gc
    import weakref

    from gan_zoo.metrics import MetricSuite
    from gan_zoo.metrics.driver import score_generator

    alive: weakref.WeakSet = weakref.WeakSet()
    most_alive = []

    class CountingSampler:
        generator = nn.Module()

        def sample(self, n, labels=None, seed=None):
            gc.collect()
            most_alive.append(len(alive))
            batch = torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) * 2 - 1
            alive.add(batch)
            return batch

    results = score_generator(CountingSampler(), MetricSuite(["domain_is"], domain="mnist"), num_samples=80,
                              batch_size=8, seed=0, source="noise")
    assert len(most_alive) == 10 and max(most_alive) <= 2, most_alive
    assert results["domain_is"].protocol.n_fake == 80


def _tiles(grid: torch.Tensor, n: int, nrow: int, h: int, w: int, padding: int = 2) -> list[torch.Tensor]:
    """The n images of a make_grid layout (padding around every tile), in row-major order."""
    return [
        grid[:, padding + (i // nrow) * (h + padding):][:, :h, padding + (i % nrow) * (w + padding):][:, :, :w]
        for i in range(n)
    ]


def test_to_grid_maps_minus_one_to_one_onto_zero_to_one_without_stretching():
    # Samples live in [-1, 1] (tanh): the grid shows them as (x + 1) / 2 on that fixed range. Normalizing each
    # grid to its own min/max would turn an all-grey batch black and stretch low-contrast samples to full range,
    # so grids of different steps could not be compared by eye.
    from gan_zoo.callbacks.sample_grid import to_grid

    grey = to_grid(torch.zeros(4, 3, 5, 5))
    for tile in _tiles(grey, 4, 2, 5, 5):
        assert torch.equal(tile, torch.full_like(tile, 0.5))

    x = torch.linspace(-0.5, 0.3, 4 * 3 * 5 * 5).view(4, 3, 5, 5)  # inside [-1, 1], asymmetric about 0
    expected = (x.double() + 1) / 2  # the fixed-range map in float64
    grid = to_grid(x)
    assert grid.shape == (3, 2 * (5 + 2) + 2, 2 * (5 + 2) + 2)  # nrow = √4 = 2
    for tile, want in zip(_tiles(grid, 4, 2, 5, 5), expected):
        torch.testing.assert_close(tile.double(), want, rtol=0, atol=1e-7)
    assert float(grid.max()) == pytest.approx(0.65) and float(grid[:, 2:7, 2:7].min()) == pytest.approx(0.25)
