"""The results ledger (docs/results.yaml): it covers every config, its renderings are current, bad entries
are named, and `gan-zoo reproduce` retrains a tiny config and checks it against the recorded tolerance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from gan_zoo.errors import GanZooError
from gan_zoo.ledger import (
    MEASURED,
    find_entry,
    load_ledger,
    model_configs,
    render_markdown,
    render_readme_table,
    replace_readme_block,
)
from gan_zoo.reproduce import check_tolerance, fit_args, reproduce_main

ROOT = Path(__file__).parents[1]
LEDGER = ROOT / "docs" / "results.yaml"
TINY = "configs/dcgan/mnist_tiny.yaml"


@pytest.fixture(scope="module")
def ledger() -> dict:
    return load_ledger(LEDGER)


def test_every_config_has_an_entry_and_every_entry_an_existing_config(ledger):
    configs = set(model_configs(ROOT))
    assert len(configs) > 20 and "configs/began/mnist.yaml" in configs
    assert "configs/trainer/ddp.yaml" not in configs  # fragments are composed onto model configs
    entries = {e["config"] for e in ledger["entries"]}
    assert sorted(configs - entries) == [], "configs without a ledger entry (add one, 'not measured' with a reason is fine)"
    assert sorted(entries - configs) == [], "ledger entries naming no model config in configs/"


def test_protocols_name_the_shipped_extractor_weights(ledger):
    for name, protocol in ledger["protocols"].items():
        if protocol.get("kind") in ("toy", "classification"):  # no extractor: mixtures / the model's own classifier
            continue
        weights = ROOT / protocol["extractor"]
        info = json.loads(weights.with_suffix(".json").read_text())
        assert protocol["extractor_sha256"] == info["sha256"], f"{name}: results were scored with other weights"
        assert info["dataset"] == protocol["dataset"]


def test_measured_entries_are_complete(ledger):
    measured = [e for e in ledger["entries"] if e["status"] == MEASURED]
    assert any(e["config"] == TINY for e in measured)
    for entry in measured:
        assert entry["tolerance"], f"{entry['config']}: reproduce needs a tolerance"
        assert entry["fit_command"].startswith("gan-zoo fit --config " + entry["config"])
        kind = ledger["protocols"][entry["protocol"]].get("kind", "image")
        scored_by = {"classification": "gan-zoo test", "toy": "gan-zoo reproduce " + entry["config"]}.get(kind, "gan-zoo evaluate")
        assert entry["evaluate_command"].startswith(scored_by), entry["config"]
        assert len(entry["budget"]["wall_s"]) == len(entry["seeds"]) and entry["budget"]["hardware"]
        for metric, bounds in entry["tolerance"].items():  # the recorded values pass their own tolerance
            for value in entry["results"][metric]:
                assert bounds.get("min", -1e300) <= value <= bounds.get("max", 1e300), (entry["config"], metric, value)


def test_results_md_and_readme_are_generated_from_the_ledger(ledger):
    assert (ROOT / "docs" / "results.md").read_text() == render_markdown(ledger), "run python scripts/results_ledger.py"
    readme = (ROOT / "README.md").read_text()
    assert readme == replace_readme_block(readme, render_readme_table(ledger)), "run python scripts/results_ledger.py"
    for entry in ledger["entries"]:
        if entry["status"] == MEASURED and entry["config"] != TINY:
            assert f"`{entry['config']}`" in readme


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda e: e["results"]["domain_is"].append(1.0), "one value per seed"),
        (lambda e: e.update(config="configs/dcgan/mnist.yaml"), "listed twice"),
        (lambda e: e.update(protocol="nope"), "unknown protocol"),
        (lambda e: e["tolerance"].update(bogus={"min": 1}), "no recorded result"),
        (lambda e: e.update(status="not measured", reason=""), "needs a reason"),
        (lambda e: e.update(evaluate_command=e["evaluate_command"] + " --ema --no-ema"), "both --ema and --no-ema"),
        # a crop scored but not in the protocol, and the other way round: the recorded protocol would lie
        (lambda e: e.update(evaluate_command=e["evaluate_command"] + " --center-crop 28"), "disagrees with protocol"),
        (lambda e: e.update(protocol="mnist-5k-crop28"), "disagrees with protocol"),
        (lambda e: e.update(protocol="mnist-5k-crop0"), "center_crop must be a positive integer"),
    ],
)
def test_bad_entries_are_named(ledger, tmp_path, mutate, message):
    data = yaml.safe_load(LEDGER.read_text())
    data["protocols"]["mnist-5k-crop28"] = {**data["protocols"]["mnist-5k"], "center_crop": 28}
    data["protocols"]["mnist-5k-crop0"] = {**data["protocols"]["mnist-5k"], "center_crop": 0}
    mutate(next(e for e in data["entries"] if e["config"] == TINY))
    path = tmp_path / "results.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(GanZooError, match=message) as err:
        load_ledger(path)
    assert TINY in str(err.value) or "configs/dcgan/mnist.yaml" in str(err.value)


def test_tolerance_check():
    rows = check_tolerance({"domain_fid": 30.0, "domain_is": 8.9}, {"domain_fid": {"max": 40}, "domain_is": {"min": 9.0}})
    assert [(m, ok) for m, _, _, ok in rows] == [("domain_fid", True), ("domain_is", False)]
    (_, value, _, ok), = check_tolerance({}, {"class_coverage": {"min": 1.0}})  # a missing metric fails
    assert value != value and not ok


def test_reproduce_tiny_config_within_tolerance(ledger, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)  # configs and the ledger are named relative to the repository root
    entry = find_entry(ledger, TINY)
    code = reproduce_main([TINY, "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "reproduced" in out and f"seed {entry['seeds'][0]}" in out
    report = json.loads(next(tmp_path.rglob("eval.json")).read_text())
    assert report["results"]["domain_fid"]["protocol"]["n_fake"] == ledger["protocols"][entry["protocol"]]["num_samples"]
    # The same checkpoint judged against a tolerance it cannot meet: exit code 1, the metric named.
    ckpt = next(tmp_path.rglob("last.ckpt"))
    data = yaml.safe_load(LEDGER.read_text())
    tiny = next(e for e in data["entries"] if e["config"] == TINY)
    tiny["tolerance"] = {"domain_is": {"min": 9.9}}
    strict = tmp_path / "strict.yaml"
    strict.write_text(yaml.safe_dump(data))
    assert reproduce_main([TINY, "--out", str(tmp_path), "--ledger", str(strict), "--ckpt", str(ckpt)]) == 1
    assert "NOT reproduced: domain_is" in capsys.readouterr().out


# ------------------------------------------------------------------ classification protocols (semi-supervised GAN)
SSL = "configs/semi_supervised_gan/mnist_100labels.yaml"
CLASSIFICATION = {"kind": "classification", "dataset": "mnist", "split": "test", "num_images": 10000}


def _classification_ledger(tmp_path, results: dict, tolerance: dict, overrides: list[str] | None = None) -> Path:
    data = yaml.safe_load(LEDGER.read_text())
    data["protocols"]["test-classification"] = CLASSIFICATION
    entry = next(e for e in data["entries"] if e["config"] == SSL)
    entry.clear()
    entry.update(config=SSL, status=MEASURED, protocol="test-classification", seeds=[0], seed_options=["data.init_args.label_seed"],
                 overrides=overrides or [], budget={"max_steps": 8, "g_updates": 4, "wall_s": [1.0], "hardware": "test"},
                 results=results, tolerance=tolerance, fit_command=f"gan-zoo fit --config {SSL}",
                 evaluate_command=f"gan-zoo test --config {SSL} --ckpt_path CKPT")
    path = tmp_path / "results.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_classification_protocols_take_test_errors_only(tmp_path):
    ledger = load_ledger(_classification_ledger(tmp_path, {"test_error": [0.1], "test_error_last": [0.2]}, {"test_error": {"max": 0.5}}))
    entry = find_entry(ledger, SSL)
    markdown = render_markdown(ledger)
    assert f"### `{SSL}`" in markdown and "test error ↓ (averaged D) | 0.1 | ≤ 0.5" in markdown
    assert "each also sets `data.init_args.label_seed`" in markdown
    image_table, own_metrics_table = render_readme_table(ledger).split("| results |")  # no image metrics: second table
    assert f"`{SSL}`" not in image_table
    assert f"| `{SSL}` | test-classification | 1 | 4 | 0.0 min | test error ↓ (averaged D) 0.1; test error ↓ (last D) 0.2 |" in own_metrics_table
    assert fit_args(entry, 2, tmp_path)[-8:-6] == ["--data.init_args.label_seed", "2"]  # the labelled subset follows the seed
    with pytest.raises(GanZooError, match="'domain_fid' is not one of"):
        load_ledger(_classification_ledger(tmp_path, {"domain_fid": [3.0]}, {}))


def test_reproduce_scores_a_classification_entry_with_gan_zoo_test(data_dir, tmp_path, monkeypatch, capsys):
    """A tiny semi-supervised GAN checkpoint judged through the ledger: the test errors reproduce reports are
    those of the checkpoint's averaged D and last D on the 10k test images, and the tolerance decides."""
    import torch

    from gan_zoo.data import SemiSupervisedDataModule
    from gan_zoo.fit import cli_main
    from gan_zoo.models import SemiSupervisedGAN

    monkeypatch.chdir(ROOT)
    tiny = ["--model.init_args.generator.init_args.hidden", "[16]", "--model.init_args.discriminator.init_args.hidden", "[32, 16]",
            "--data.init_args.limit_samples", "400", "--data.init_args.validation_size", "300", "--data.init_args.download", "false"]
    cli_main(["fit", "--config", SSL, *tiny, "--data.init_args.data_dir", str(data_dir), "--trainer.max_epochs", "1",
              "--trainer.limit_val_batches", "1", "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
              "--trainer.default_root_dir", str(tmp_path / "fit")])
    ckpt = tmp_path / "fit" / "checkpoints" / "last.ckpt"
    restored = SemiSupervisedGAN.load_from_checkpoint(str(ckpt)).eval()
    dm = SemiSupervisedDataModule(data_dir=str(data_dir), download=False, validation_size=300)
    dm.setup()
    with torch.no_grad():
        expected = {
            "test_error": (restored.classifier_average.module(dm.test_images).argmax(1) != dm.test_targets).double().mean().item(),
            "test_error_last": (restored.classify(dm.test_images).argmax(1) != dm.test_targets).double().mean().item(),
        }

    def judge(tolerance: dict) -> tuple[int, str]:
        ledger = _classification_ledger(tmp_path, {k: [v] for k, v in expected.items()}, tolerance, overrides=tiny)
        code = reproduce_main([SSL, "--ledger", str(ledger), "--ckpt", str(ckpt), "--out", str(tmp_path / "judge"),
                               "--data-dir", str(data_dir)])
        return code, capsys.readouterr().out

    code, out = judge({"test_error": {"max": 1.0}, "test_error_last": {"max": 1.0}})
    assert code == 0, out
    for metric, value in expected.items():
        assert f"{metric:<20}{value:>12.4f}" in out  # the measured column: gan-zoo test's numbers, recomputed here
    code, out = judge({"test_error": {"max": expected["test_error"] - 1e-3}})
    assert code == 1 and "NOT reproduced: test_error" in out


# ------------------------------------------------------------------ toy protocols
def _toy_checkpoint(tmp_path, config: str, max_steps: int, *options: str) -> Path:
    """A few steps of a toy config with 8-unit nets (plus ``options``); returns its last checkpoint."""
    from gan_zoo.fit import cli_main

    cli = cli_main(["--config", config, "--trainer.max_steps", str(max_steps), *options,
                    "--model.init_args.generator.init_args.hidden", "[8]", "--model.init_args.discriminator.init_args.hidden", "[8]",
                    "--trainer.default_root_dir", str(tmp_path), "--trainer.logger", "false", "--trainer.enable_progress_bar", "false"], run=False)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    return Path(cli.trainer.checkpoint_callback.last_model_path)


def test_toy_protocol_scores_the_swiss_roll_by_precision_and_recall(tmp_path, monkeypatch):
    """A toy protocol on a distribution without modes (the swiss roll) reports precision and recall of the
    checkpoint's samples against a fresh draw with the protocol's reference seed; the mixtures keep mode coverage."""
    from gan_zoo.data import sample_toy
    from gan_zoo.hub import load_gan_checkpoint
    from gan_zoo.metrics import precision_recall
    from gan_zoo.reproduce import measure

    monkeypatch.chdir(ROOT)
    ckpt = _toy_checkpoint(tmp_path, "configs/vanilla_gan/swissroll.yaml", 4)
    protocol = {"kind": "toy", "dataset": "swissroll", "num_samples": 300, "seed": 2, "reference_seed": 3, "k": 40}
    got = measure(ckpt, protocol, tmp_path / "eval.json")
    samples = load_gan_checkpoint(str(ckpt)).sample(300, seed=2)
    want = precision_recall(samples, sample_toy("swissroll", 300, seed=3), k=40)
    assert got == {"precision": want.precision, "recall": want.recall}
    assert 0 < got["precision"] < 1 or 0 < got["recall"] < 1  # not a degenerate score
    ring = measure(ckpt, {"kind": "toy", "dataset": "gaussians8", "num_samples": 300}, tmp_path / "eval.json")
    assert set(ring) == {"modes_covered", "high_quality_share"}


def test_reproduce_scores_the_generator_the_entry_names(tmp_path, monkeypatch):
    """An entry evaluated with ``--no-ema`` is scored on the raw generator of a checkpoint that keeps an EMA
    one (``gan-zoo reproduce`` once re-scored such entries with the EMA generator), ``--ema`` on the EMA one,
    and neither on the checkpoint's default (the EMA one): on the toy path by sampling, on the image path by
    the flag handed to ``gan-zoo evaluate``."""
    import gan_zoo.evaluate
    import gan_zoo.metrics.modes
    from gan_zoo.hub import load_gan_checkpoint
    from gan_zoo.reproduce import measure

    monkeypatch.chdir(ROOT)
    ckpt = _toy_checkpoint(tmp_path, "configs/vanilla_gan/gaussians8.yaml", 6, "--model.init_args.ema_decay", "0.5")
    model = load_gan_checkpoint(str(ckpt))
    raw, ema = model.sample(400, seed=3, use_ema=False), model.sample(400, seed=3, use_ema=True)
    assert not torch.equal(raw, ema)  # the two generators differ after 3 G updates at decay 0.5

    scored = []
    real_coverage = gan_zoo.metrics.modes.toy_mode_coverage

    def recording_coverage(samples, *args):
        scored.append(samples)
        return real_coverage(samples, *args)

    monkeypatch.setattr(gan_zoo.metrics.modes, "toy_mode_coverage", recording_coverage)
    protocol = {"kind": "toy", "dataset": "gaussians8", "num_samples": 400, "seed": 3}
    for entry, want in (({"evaluate_command": "gan-zoo evaluate --ckpt CKPT --no-ema"}, raw),
                        ({"evaluate_command": "gan-zoo evaluate --ckpt CKPT --ema"}, ema), ({}, ema)):
        measure(ckpt, protocol, tmp_path / "e.json", entry=entry)
        assert torch.equal(scored[-1], want), entry

    seen = []

    def fake_evaluate(argv):
        seen.append(argv)
        return {"results": {"domain_is": {"value": 1.0}}}

    monkeypatch.setattr(gan_zoo.evaluate, "evaluate_main", fake_evaluate)
    image = {"dataset": "mnist", "metrics": ["domain_is"], "num_samples": 10, "num_real": 10}
    for flags in (["--no-ema"], ["--ema"], []):
        measure(ckpt, image, tmp_path / "e.json", entry={"evaluate_command": " ".join(["gan-zoo evaluate", *flags])})
        assert [a for a in seen[-1] if a in ("--no-ema", "--ema")] == flags, seen[-1]
        assert "--center-crop" not in seen[-1]
    # a protocol for padded training data scores the central crop, as its evaluate command does
    measure(ckpt, {**image, "center_crop": 28}, tmp_path / "e.json", entry={"evaluate_command": "gan-zoo evaluate --center-crop 28"})
    assert seen[-1][seen[-1].index("--center-crop") + 1] == "28"


def test_an_entry_scored_on_a_shipped_generator_is_reproduced_on_the_same_generator(ledger):
    """``--pretrained NAME`` scores the generator the shipped file holds (its registry ``weights``): ``gan-zoo
    reproduce`` once scored the EMA generator of configs whose shipped one is raw (dcgan/mnist seed 1: FID 183
    against 57 for its raw generator)."""
    from gan_zoo.ledger import entry_use_ema
    from gan_zoo.zoo import get_pretrained

    shipped = [e for e in ledger["entries"] if "--pretrained" in str(e.get("evaluate_command", "")).split()]
    assert shipped  # the ledger scores some entries on their shipped generator
    for entry in shipped:
        command = entry["evaluate_command"].split()
        weights = get_pretrained(command[command.index("--pretrained") + 1]).weights  # "raw generator, float32"
        assert entry_use_ema(entry) is (weights.split()[0] == "ema"), entry["config"]
    assert entry_use_ema({"evaluate_command": "gan-zoo evaluate --pretrained dcgan-mnist --seed 0"}) is False
    assert entry_use_ema({"evaluate_command": "gan-zoo evaluate --pretrained vanilla_gan-mnist --seed 0"}) is True
    assert entry_use_ema({"evaluate_command": "gan-zoo evaluate --pretrained vanilla_gan-mnist --no-ema"}) is False
