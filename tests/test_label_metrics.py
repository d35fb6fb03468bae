"""Label accuracy (cGAN) and code accuracy (InfoGAN): the formulas against brute force, the suite on real digits
with known labels, and the labels' path through the driver, `gan-zoo evaluate` and sample files."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from gan_zoo.cli import main
from gan_zoo.evaluate import evaluate_main
from gan_zoo.metrics.classifier import classify
from gan_zoo.metrics.reference import load_split
from gan_zoo.metrics.scores import code_accuracy, label_accuracy
from gan_zoo.metrics.suite import DEFAULT_METRICS, MetricSuite


def brute_force_code_accuracy(labels: list[int], predicted: list[int], num_classes: int) -> float:
    """The best share over every injective map of label values to classes, written out."""
    values = sorted(set(labels) | set(range(max(labels) + 1)))
    best = 0
    for classes in itertools.permutations(range(num_classes), min(len(values), num_classes)):
        for chosen in itertools.combinations(values, len(classes)):  # which label values get a class
            mapping = dict(zip(chosen, classes))
            best = max(best, sum(mapping.get(y) == p for y, p in zip(labels, predicted)))
    return best / len(labels)


@pytest.mark.parametrize("num_values, num_classes", [(4, 4), (3, 5), (5, 4)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_code_accuracy_is_the_best_one_to_one_matching(seed, num_values, num_classes):
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(num_values, (60,), generator=generator)
    labels[:num_values] = torch.arange(num_values)  # every value present
    # each value leans to a random class, so the best matching is not the identity
    lean = torch.randperm(max(num_values, num_classes), generator=generator)[:num_values] % num_classes
    noisy = torch.rand(60, generator=generator) < 0.4
    predicted = torch.where(noisy, torch.randint(num_classes, (60,), generator=generator), lean[labels])
    result = code_accuracy(labels, predicted, num_classes)
    expected = brute_force_code_accuracy(labels.tolist(), predicted.tolist(), num_classes)
    assert result["accuracy"] == pytest.approx(expected, abs=1e-12)
    mapping = result["code_to_class"]
    hits = sum(mapping[y] == p for y, p in zip(labels.tolist(), predicted.tolist()))
    assert hits / 60 == pytest.approx(expected, abs=1e-12)  # the reported matching achieves it
    assert len({c for c in mapping if c >= 0}) == sum(c >= 0 for c in mapping)  # one-to-one
    assert sum(c == -1 for c in mapping) == max(0, num_values - num_classes)


def test_label_accuracy_counts_samples_of_their_own_label():
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2])
    predicted = torch.tensor([0, 1, 0, 1, 1, 0, 2, 1, 2])
    result = label_accuracy(labels, predicted, num_classes=3)
    assert result["accuracy"] == pytest.approx(6 / 9)
    assert result["per_label"] == pytest.approx([2 / 3, 1.0, 2 / 4])
    assert result["table"] == [[2, 1, 0], [0, 2, 0], [1, 1, 2]]
    with pytest.raises(Exception, match="label accuracy needs labels that name its classes"):
        label_accuracy(torch.tensor([0, 3]), torch.tensor([0, 1]), num_classes=3)


def test_suite_scores_real_digits_against_their_labels_and_a_relabelling(data_dir):
    """Real test digits with their true labels: label accuracy is the classifier's accuracy computed directly.
    With the labels renamed by a permutation, label accuracy drops and code accuracy finds the renaming."""
    images, labels = load_split("mnist", "test", data_dir, 600)
    direct = (classify(images, "mnist") == labels).double().mean().item()
    assert direct > 0.95  # the shipped classifier on real digits
    suite = MetricSuite(["label_accuracy", "code_accuracy", "class_coverage"], domain="mnist", batch_size=128)
    true = suite.compute(iter(images.split(128)), seed=0, labels=labels)
    assert true["label_accuracy"].value == pytest.approx(direct, abs=1e-12)
    assert true["code_accuracy"].value == pytest.approx(direct, abs=1e-12)
    renaming = torch.tensor([3, 7, 0, 9, 1, 2, 8, 4, 6, 5])  # digit d is called renaming[d]
    renamed = suite.compute(iter(images.split(128)), seed=0, labels=renaming[labels])
    assert renamed["code_accuracy"].value == pytest.approx(direct, abs=1e-12)
    assert renamed["code_accuracy"].extras["code_to_class"] == torch.argsort(renaming).tolist()
    assert renamed["label_accuracy"].value < 0.05
    with pytest.raises(Exception, match="give one label per sample"):
        suite.compute(images[:100], labels=labels[:99])
    with pytest.raises(Exception, match=r"\['label_accuracy', 'code_accuracy'\] score samples against the labels"):
        suite.compute(images[:100])


def test_evaluate_scores_a_cgan_against_the_balanced_labels_it_drew(data_dir, tmp_path, capsys):
    """`gan-zoo evaluate --metrics label_accuracy`: the shipped cGAN's samples, drawn as the protocol draws them
    (batch i from seed + i, labels arange % 10 sliced per batch), classified here and compared with their labels."""
    from gan_zoo import load_pretrained

    options = ["--dataset", "mnist", "--num-samples", "230", "--batch-size", "100", "--seed", "4",
               "--data-dir", str(data_dir), "--metrics", "label_accuracy", "code_accuracy"]
    report = evaluate_main(["--pretrained", "cgan-mnist", *options, "--out", str(tmp_path / "g.json")])["results"]
    generator = load_pretrained("cgan-mnist")
    labels = torch.arange(230) % 10
    samples = torch.cat([generator.sample(len(part), labels=part, seed=4 + i) for i, part in enumerate(labels.split(100))])
    direct = (classify(samples, "mnist") == labels).double().mean().item()
    assert report["label_accuracy"]["value"] == pytest.approx(direct, abs=1e-12)
    assert report["label_accuracy"]["value"] > 0.85  # the shipped generator follows its labels
    assert report["code_accuracy"]["extras"]["code_to_class"] == list(range(10))
    assert f"code_accuracy: code value -> class {list(range(10))}" in capsys.readouterr().out

    # the same samples written with their labels (8-bit files), scored from the files
    main(["sample", "--pretrained", "cgan-mnist", "--num", "230", "--batch-size", "100", "--seed", "4",
          "--out", str(tmp_path / "s.npz")])
    main(["sample", "--pretrained", "cgan-mnist", "--num", "230", "--batch-size", "100", "--seed", "4",
          "--out", str(tmp_path / "pngs") + "/"])
    with np.load(tmp_path / "s.npz") as files:
        stored = torch.from_numpy(files["arr_0"]).permute(0, 3, 1, 2).float().div(127.5).sub(1)
    from_bytes = (classify(stored, "mnist") == labels).double().mean().item()
    for source in ("s.npz", "pngs"):
        scored = evaluate_main(["--samples", str(tmp_path / source), *options,
                                "--out", str(tmp_path / f"{source}.json")])["results"]
        assert scored["label_accuracy"]["value"] == pytest.approx(from_bytes, abs=1e-12), source
        assert "stored with the samples" in scored["label_accuracy"]["protocol"]["notes"]["labels"]


@pytest.mark.parametrize("make, message", [
    (lambda d: np.savez(d / "s.npz", arr_0=np.zeros((20, 28, 28, 1), np.uint8)),
     "score samples against the labels they were drawn with"),
    (lambda d: np.savez(d / "s.npz", arr_0=np.zeros((20, 28, 28, 1), np.uint8), labels=np.arange(5)),
     "5 labels for 10 images"),
    (lambda d: np.savez(d / "s.npz", arr_0=np.zeros((20, 28, 28, 1), np.uint8), labels=np.full(20, 0.5)),
     "give integers, one per image"),
    (lambda d: np.savez(d / "s.npz", arr_0=np.zeros((20, 28, 28, 1), np.uint8), labels=np.full(20, -1)),
     "negative labels"),
])
def test_evaluate_label_metrics_errors_are_one_line(tmp_path, monkeypatch, capsys, data_dir, make, message):
    monkeypatch.chdir(tmp_path)
    make(tmp_path)
    main(["evaluate", "--samples", "s.npz", "--dataset", "mnist", "--num-samples", "10", "--metrics", "class_coverage",
          "--data-dir", str(data_dir), "--out", str(tmp_path / "plain.json")])  # labels unread: scored
    (tmp_path / "plain.json").unlink()
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--samples", "s.npz", "--dataset", "mnist", "--num-samples", "10",
              "--metrics", "label_accuracy", "--data-dir", str(data_dir)])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and message in err and "\n" not in err, err
    assert not list(tmp_path.glob("*.eval.json"))


def test_evaluate_refuses_label_metrics_for_an_unconditional_generator_before_sampling(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--pretrained", "dcgan-mnist", "--dataset", "mnist", "--metrics", "code_accuracy",
              "--out", str(tmp_path / "r.json")])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and "score a conditional generator" in err
    assert not (tmp_path / "r.json").exists()


def test_label_metrics_are_not_defaults():
    assert "label_accuracy" not in DEFAULT_METRICS and "code_accuracy" not in DEFAULT_METRICS
    assert set(DEFAULT_METRICS) == {"domain_fid", "domain_is", "class_coverage"}


def test_metrics_callback_logs_label_accuracy_as_evaluate_scores_it(tmp_path, data_dir, monkeypatch):
    """A tiny cGAN fit with MetricsCallback(metrics=[label_accuracy]): the logged value is what `gan-zoo evaluate`
    gives for the checkpoint; an unconditional model with a label metric stops at setup, before any step."""
    from pathlib import Path

    from gan_zoo.callbacks import MetricsCallback
    from gan_zoo.cli import cli_main

    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(tmp_path)
    common = [f"--data.init_args.data_dir={data_dir}", "--data.init_args.batch_size=16",
              "--data.init_args.limit_samples=64", "--trainer.max_steps=4", f"--trainer.default_root_dir={tmp_path}",
              "--trainer.enable_progress_bar=false", "--sample_grid.every_n_g_steps=0",
              "--trainer.callbacks+=gan_zoo.callbacks.MetricsCallback", "--trainer.callbacks.every_n_g_steps=2",
              "--trainer.callbacks.num_samples=50", "--trainer.callbacks.batch_size=20",
              "--trainer.callbacks.metrics=[label_accuracy]"]
    cli = cli_main(["fit", "--config", str(root / "configs" / "cgan" / "mnist.yaml"), *common])
    callback = next(c for c in cli.trainer.callbacks if isinstance(c, MetricsCallback))
    logged = callback.history[-1]["results"]["label_accuracy"]["value"]
    assert float(cli.trainer.callback_metrics["metrics/label_accuracy"]) == pytest.approx(logged, rel=1e-6)
    ckpt = Path(cli.trainer.log_dir) / "checkpoints" / "last.ckpt"
    report = evaluate_main(["--ckpt", str(ckpt), "--dataset", "mnist", "--metrics", "label_accuracy",
                            "--num-samples", "50", "--batch-size", "20", "--data-dir", str(data_dir)])
    assert report["results"]["label_accuracy"]["value"] == logged

    with pytest.raises(Exception, match="need a conditional generator"):
        cli_main(["fit", "--config", str(root / "configs" / "dcgan" / "mnist.yaml"), *common,
                  "--model.init_args.generator.init_args.base_channels=8",
                  "--model.init_args.discriminator.init_args.base_channels=8"])


def test_infogan_configs_code_accuracy_callback_leaves_training_unchanged(tmp_path, data_dir, monkeypatch):
    """configs/infogan/mnist.yaml scores code_accuracy during fit; with it scoring every G update, the trained
    weights are bitwise those of the same run without the callback (sampling uses its own seeds and eval mode)."""
    from pathlib import Path

    import yaml

    from gan_zoo.callbacks import MetricsCallback
    from gan_zoo.cli import cli_main

    root = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((root / "configs" / "infogan" / "mnist.yaml").read_text())
    callbacks = config["trainer"]["callbacks"]
    scoring = [c for c in callbacks if c["class_path"].endswith("MetricsCallback")]
    assert len(scoring) == 1 and scoring[0]["init_args"]["metrics"] == ["code_accuracy"]
    scoring[0]["init_args"].update(every_n_g_steps=1, num_samples=20, batch_size=20)
    without = {**config, "trainer": {**config["trainer"], "callbacks": [c for c in callbacks if c not in scoring]}}
    monkeypatch.chdir(tmp_path)
    weights = []
    for name, variant in (("with", config), ("without", without)):
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(variant))
        cli = cli_main([
            "fit", "--config", str(tmp_path / f"{name}.yaml"), f"--data.init_args.data_dir={data_dir}",
            "--model.init_args.generator.init_args.hidden=32", "--model.init_args.generator.init_args.base_channels=8",
            "--model.init_args.discriminator.init_args.hidden=32",
            "--model.init_args.discriminator.init_args.base_channels=8",
            "--data.init_args.batch_size=16", "--data.init_args.limit_samples=64", "--trainer.max_steps=8",
            f"--trainer.default_root_dir={tmp_path / name}", "--trainer.enable_progress_bar=false",
            "--sample_grid.every_n_g_steps=0", "--seed_everything=3",
        ])
        found = [c for c in cli.trainer.callbacks if isinstance(c, MetricsCallback)]
        assert len(found) == (name == "with")
        if found:
            assert [h["g_updates"] for h in found[0].history] == [1, 2, 3, 4]
        weights.append({k: v.clone() for k, v in cli.model.state_dict().items()})
    assert weights[0].keys() == weights[1].keys()
    for key in weights[0]:
        assert torch.equal(weights[0][key], weights[1][key]), key
