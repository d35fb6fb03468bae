"""The gan-zoo command: LightningCLI behaviour, the digits default end to end, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from gan_zoo.cli import cli_main, main
from gan_zoo.hub import load_pretrained
from helpers import DIGITS

ROOT = Path(__file__).parents[1]


def test_help_lists_model_and_callback_groups(capsys):
    with pytest.raises(SystemExit) as info:
        main(["fit", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--sample_grid.every_n_g_steps" in out and "--checkpoint.save_last" in out
    assert "--optimizer" not in out  # removed: the models own their two optimizers


def test_top_level_help_names_the_extra_subcommands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "export, sample, evaluate" in out and "fit" in out


def test_print_config_merges_configs_in_order(tmp_path, capsys):
    override = tmp_path / "override.yaml"
    override.write_text("trainer:\n  max_steps: 7\nmodel:\n  init_args:\n    n_critic: 2\n")
    with pytest.raises(SystemExit) as info:
        main(["fit", "--config", DIGITS, "--config", str(override), "--trainer.max_steps=9", "--print_config"])
    assert info.value.code == 0
    config = yaml.safe_load(capsys.readouterr().out)
    assert config["trainer"]["max_steps"] == 9  # the command line wins over both files
    assert config["model"]["init_args"]["n_critic"] == 2  # the second file wins over the first
    assert config["model"]["class_path"] == "gan_zoo.models.DCGAN"


def test_digits_default_end_to_end(tmp_path, monkeypatch):
    """The README quickstart on a small budget: a PNG grid and last.ckpt land in the run folder, and the
    checkpoint exports to a pretrained generator that reproduces the model's samples."""
    monkeypatch.chdir(tmp_path)
    cli = cli_main(["fit", "--config", DIGITS, "--trainer.max_steps=40", "--sample_grid.every_n_g_steps=10",
                    "--trainer.enable_progress_bar=false"])
    run = Path(cli.trainer.log_dir).resolve()
    assert run.is_relative_to((tmp_path / "runs" / "dcgan" / "digits").resolve())
    pngs = sorted((run / "samples").glob("*.png"))
    assert [p.name for p in pngs] == [f"g_step_{i:06d}.png" for i in (10, 20)]
    last = run / "checkpoints" / "last.ckpt"
    assert last.is_file() and (run / "config.yaml").is_file()
    assert (int(cli.model.d_updates), int(cli.model.g_updates)) == (20, 20)
    assert all(torch.isfinite(v) for v in cli.trainer.callback_metrics.values())

    main(["export", "--ckpt", str(last), "--out", str(tmp_path / "pretrained")])
    generator = load_pretrained(tmp_path / "pretrained")
    assert torch.equal(generator.sample(8, seed=5), cli.model.sample(8, seed=5))
    main(["sample", "--pretrained", str(tmp_path / "pretrained"), "--num", "9", "--out", str(tmp_path / "g.png")])
    assert (tmp_path / "g.png").stat().st_size > 100


def test_missing_dataset_is_one_line_and_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["fit", "--config", str(ROOT / "configs" / "dcgan" / "mnist.yaml"),
              f"--data.init_args.data_dir={tmp_path / 'nothing'}", "--data.init_args.download=false",
              f"--trainer.default_root_dir={tmp_path}", "--trainer.logger=false"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gan-zoo: error: MNIST not found under")
    assert "train-images-idx3-ubyte" in err[0]


def test_unknown_config_key_is_rejected(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  init_args:\n    n_critics: 5\n")  # typo: n_critic
    with pytest.raises(SystemExit) as info:
        main(["fit", "--config", DIGITS, "--config", str(bad), "--print_config"])
    assert info.value.code != 0


def test_export_and_sample_errors_are_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["sample", "--ckpt", str(tmp_path / "missing.ckpt"), "--out", str(tmp_path / "x.png")])
    assert info.value.code == 2
    assert "does not exist" in capsys.readouterr().err
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(SystemExit) as info:
        main(["export", "--ckpt", str(junk), "--out", str(tmp_path / "out")])
    assert info.value.code == 2 and not (tmp_path / "out" / "generator.safetensors").exists()


def test_wandb_offline_receives_sample_grids(tmp_path, monkeypatch):
    for var in ("WANDB_DIR", "WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "wandb_home"))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.chdir(tmp_path)
    cli_main(["fit", "--config", DIGITS, "--config", str(ROOT / "configs" / "logging" / "wandb.yaml"),
              "--trainer.max_steps=8", "--sample_grid.every_n_g_steps=2", "--trainer.enable_progress_bar=false",
              "--data.init_args.limit_samples=64"])
    import wandb

    wandb.finish()
    runs = list((tmp_path / "runs" / "wandb" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    images = list(runs[0].glob("files/media/images/samples_*.png"))
    assert len(images) >= 2


def test_cli_resume_from_last_ckpt_continues_counters(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    common = ["--config", DIGITS, "--trainer.enable_progress_bar=false", "--data.init_args.limit_samples=128",
              "--sample_grid.every_n_g_steps=0"]
    first = cli_main(["fit", *common, "--trainer.max_steps=6"])
    last = Path(first.trainer.log_dir) / "checkpoints" / "last.ckpt"
    loads = []  # every torch.load of the resumed file: checkpoints are untrusted, never unpickled in full
    real_load = torch.load
    name = lambda f: str(getattr(f, "path", f))  # noqa: E731  (Lightning opens the file through fsspec)
    monkeypatch.setattr(torch, "load", lambda f, *a, **kw: loads.append((name(f), kw.get("weights_only"))) or real_load(f, *a, **kw))
    second = cli_main(["fit", *common, "--trainer.max_steps=12", f"--ckpt_path={last}"])
    resumed_loads = [weights_only for f, weights_only in loads if Path(f).resolve() == last.resolve()]
    assert len(resumed_loads) >= 2 and all(w is True for w in resumed_loads), loads  # gan-zoo's check, then Lightning's restore
    # (Lightning passes None unless told: torch's default, which the TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD variable turns off)
    assert (int(second.model.d_updates), int(second.model.g_updates)) == (6, 6)
    assert second.trainer.global_step == 12
    assert last.is_file(), "the first run's checkpoint must not be removed by the resumed run"


def test_last_ckpt_holds_the_final_state_with_periodic_checkpoints(tmp_path, monkeypatch):
    # Plain ModelCheckpoint would leave last.ckpt at step 20 here (its last periodic save).
    monkeypatch.chdir(tmp_path)
    cli = cli_main(["fit", "--config", DIGITS, "--trainer.max_steps=30", "--checkpoint.every_n_train_steps=20",
                    "--trainer.enable_progress_bar=false", "--sample_grid.every_n_g_steps=0",
                    "--data.init_args.limit_samples=128"])
    last = torch.load(Path(cli.trainer.log_dir) / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 30 and int(last["state_dict"]["g_updates"]) == 15


def test_model_help_lists_gan_zoo_nets_not_every_torch_module(capsys):
    with pytest.raises(SystemExit) as info:
        main(["fit", "--model.help", "WGANGP"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--model.gp_weight" in out and "gan_zoo.nets.DCGANCritic" in out
    assert "torch.nn.Linear" not in out and "torchvision" not in out
    assert len(out.splitlines()) < 200  # 1,439 lines when every nn.Module subclass was listed (158 with the lr schedules)


def test_fit_help_leads_with_what_a_user_sets(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    head = "\n".join(capsys.readouterr().out.splitlines()[:16])
    assert "What you usually set" in head and "--trainer.max_steps" in head and "--ckpt_path" in head


def test_fit_prints_no_noise_before_training(tmp_path, monkeypatch):
    """The warning wall before the progress bar (seed notice, tensorboardX notice, litlogger tip, LeafSpec
    deprecation, log_every_n_steps) is gone; the model summary stays."""
    import logging
    import warnings

    shown: list[str] = []

    class Collect(logging.Handler):  # what Lightning's own console handler would print
        def emit(self, record: logging.LogRecord) -> None:
            if all(h.filter(record) for h in logging.getLogger("lightning.pytorch").handlers):
                shown.append(record.getMessage())

    collect = Collect()
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).addHandler(collect)
    monkeypatch.chdir(tmp_path)
    try:
        with warnings.catch_warnings(record=True) as caught:  # records what the active filters let through
            main(["fit", "--config", DIGITS, "--trainer.max_steps=2", "--trainer.enable_progress_bar=false",
                  "--sample_grid.every_n_g_steps=0", "--data.init_args.limit_samples=64"])
    finally:
        for name in ("lightning.pytorch", "lightning.fabric"):
            logging.getLogger(name).removeHandler(collect)
    printed = "\n".join(shown)
    for noise in ("No seed found", "Seed set to", "💡 Tip", "TPU available"):
        assert noise not in printed, noise
    assert "Trainable params" in printed
    messages = [str(w.message) for w in caught]
    assert not any("tensorboardX" in m or "logging interval" in m or "LeafSpec" in m for m in messages), messages


def test_logger_less_runs_never_share_a_folder_silently(tmp_path, monkeypatch, capfd):
    """--trainer.logger false: the run folder is default_root_dir itself. A second fit there is a one-line error
    (it would write over the first run's checkpoints), resuming that run there works, and testing it leaves the
    fit's config.yaml as it was (Lightning's SaveConfigCallback stopped all three with a traceback)."""
    monkeypatch.chdir(tmp_path)
    common = ["--config", DIGITS, "--trainer.enable_progress_bar=false", "--data.init_args.limit_samples=64",
              "--sample_grid.every_n_g_steps=0", "--trainer.logger=false", "--trainer.default_root_dir=solo"]
    cli_main(["fit", *common, "--trainer.max_steps=2"])
    last = tmp_path / "solo" / "checkpoints" / "last.ckpt"
    before = last.read_bytes()
    capfd.readouterr()
    with pytest.raises(SystemExit) as info:
        main(["fit", *common, "--trainer.max_steps=2"])
    lines = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert info.value.code == 2 and len(lines) == 1 and "already holds a run" in lines[0], lines
    assert last.read_bytes() == before
    # Resuming *another* run into this folder would write over this one's checkpoints too.
    cli_main(["fit", *common[:-1], "--trainer.default_root_dir=other", "--trainer.max_steps=2"])
    with pytest.raises(SystemExit) as info:
        main(["fit", *common, "--trainer.max_steps=4", f"--ckpt_path={tmp_path / 'other' / 'checkpoints' / 'last.ckpt'}"])
    assert info.value.code == 2 and "already holds a run" in capfd.readouterr().err
    assert last.read_bytes() == before
    resumed = cli_main(["fit", *common, "--trainer.max_steps=4", f"--ckpt_path={last}"])
    assert int(resumed.model.g_updates) == 2
