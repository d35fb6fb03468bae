"""Every file in configs/ instantiates through the CLI and runs one `fast_dev_run` batch on tiny data."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gan_zoo.cli import cli_main

CONFIGS = sorted((Path(__file__).parents[1] / "configs").rglob("*.yaml"))
# Configs that compose over a model config (logging, trainer settings) are not runnable alone.
RUNNABLE = [c for c in CONFIGS if "model" in (yaml.safe_load(c.read_text()) or {})]


def test_configs_found():
    assert len(RUNNABLE) >= 10


@pytest.mark.parametrize("config", RUNNABLE, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_config_fast_dev_run(config: Path, data_dir: Path, image_folder: Path, tmp_path: Path):
    spec = yaml.safe_load(config.read_text())
    data_cls = spec["data"]["class_path"].rsplit(".", 1)[-1]
    args = [
        "fit",
        "--config", str(config),
        "--trainer.fast_dev_run=true",
        "--trainer.logger=false",
        f"--trainer.default_root_dir={tmp_path}",
        "--data.init_args.batch_size=4",
        "--data.init_args.limit_samples=8",
        "--sample_grid.num_samples=4",
    ]
    if data_cls in {"CelebADataModule", "ImageFolderDataModule"}:
        args.append(f"--data.init_args.data_dir={image_folder}")
    if data_cls == "ImageFolderDataModule":  # any folder of images: the fixture's CelebA-style one
        args.append("--data.init_args.root=celeba")
    elif data_cls in {"MNISTDataModule", "FashionMNISTDataModule", "CIFAR10DataModule", "SemiSupervisedDataModule"}:
        args += [f"--data.init_args.data_dir={data_dir}", "--data.init_args.download=false"]
    cli = cli_main(args)
    model = cli.model
    assert int(model.d_updates) == 1, "fast_dev_run is one batch: exactly one D update"
    samples = model.sample(2, labels=model.grid_labels(2), seed=0)
    assert samples.shape[1:] == tuple(cli.datamodule.image_shape)
    assert samples.isfinite().all()
