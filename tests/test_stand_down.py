"""``StandDownAfterSetup``: callbacks that act only before training are out of the per-step hook calls while the
training loop runs, have done their work (config.yaml written, summary printed), and are back afterwards."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
from lightning.pytorch.callbacks import ModelSummary
from lightning.pytorch.cli import SaveConfigCallback

from gan_zoo.callbacks import StandDownAfterSetup
from gan_zoo.cli import cli_main
from helpers import DIGITS


class Seen(L.Callback):
    """Records the callback classes Lightning would call on each training batch."""

    def __init__(self) -> None:
        self.during: list[set[str]] = []

    def on_train_batch_end(self, trainer, *args) -> None:
        self.during.append({type(c).__name__ for c in trainer.callbacks})


def test_gan_zoo_fit_drops_setup_only_callbacks_during_the_loop(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli = cli_main(["--config", DIGITS, "--trainer.max_steps=6", "--trainer.enable_progress_bar=false"],
                   run=False)
    seen = Seen()
    cli.trainer.callbacks.append(seen)
    before = [type(c).__name__ for c in cli.trainer.callbacks]
    assert {"SaveConfigCallback", "ModelSummary", "StandDownAfterSetup"} <= set(before)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    assert len(seen.during) == 3
    for names in seen.during:
        assert "SaveConfigCallback" not in names and "ModelSummary" not in names
        assert {"GANCheckpoint", "SampleGrid", "NonFiniteGuard", "Seen"} <= names  # the rest keep running
    assert [type(c).__name__ for c in cli.trainer.callbacks] == before  # put back after training
    assert (Path(cli.trainer.log_dir) / "config.yaml").is_file()  # SaveConfigCallback did its work first


def test_put_back_when_training_fails(tmp_path):
    from gan_zoo import create_model
    from helpers import random_loader, tiny_trainer

    class Boom(L.Callback):
        def on_train_batch_start(self, trainer, *args):
            assert not any(isinstance(c, ModelSummary) for c in trainer.callbacks)
            raise RuntimeError("boom")

    model = create_model("dcgan", tiny=True)
    trainer = tiny_trainer(tmp_path, max_steps=4, enable_model_summary=True, callbacks=[StandDownAfterSetup(), Boom()])
    callbacks = trainer.callbacks
    with pytest.raises(RuntimeError, match="boom"):
        trainer.fit(model, random_loader(tuple(model.generator.image_shape), n=8, batch_size=4))
    assert trainer.callbacks is callbacks and any(isinstance(c, ModelSummary) for c in trainer.callbacks)
    assert SaveConfigCallback in StandDownAfterSetup().kinds
