"""``gan-zoo reproduce CONFIG``: retrain a config of the results ledger (``gan_zoo.ledger``) and check it.

    gan-zoo reproduce configs/began/mnist.yaml [--seed 0] [--out runs/reproduce] [--ledger docs/results.yaml]

trains the config with the ledger's overrides, budget (``max_steps``) and seed, evaluates the last
checkpoint with the ledger's protocol (and the generator the entry's evaluate command names: with ``--no-ema``,
or ``--pretrained NAME`` of a raw shipped generator, the raw generator of a checkpoint that keeps an EMA one;
``gan_zoo.ledger.entry_use_ema``), prints measured vs recorded values, and exits 0 when every
metric with a tolerance falls inside it, 1 otherwise (2 for bad input).

Metrics a protocol can name:
* image protocols: the ``gan-zoo evaluate`` metrics (``domain_fid``, ``domain_is``, ``class_coverage``,
  ``fid``, ``is``), plus ``min_class_share`` (the rarest class's share of the samples, from the class
  coverage histogram: "every class ≥ 5 %" is ``min_class_share ≥ 0.05``);
* toy protocols: ``modes_covered`` and ``high_quality_share`` for the 2-D Gaussian mixtures, ``precision`` and
  ``recall`` (Kynkäänniemi et al. 2019) for the swiss roll (``gan_zoo.metrics.modes``);
* classification protocols: ``test_error`` and ``test_error_last`` from ``gan-zoo test`` on the config
  (the semi-supervised GAN's classification error on the test split, averaged D / last D).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

from gan_zoo.errors import ArgumentParser, GanZooError
from gan_zoo.ledger import DEFAULT_LEDGER, MEASURED, entry_use_ema, find_entry, load_ledger

__all__ = ["fit_args", "train", "evaluate_args", "min_class_share", "measure", "check_tolerance", "reproduce_main"]


def fit_args(entry: dict[str, Any], seed: int, out_dir: Path) -> list[str]:
    """``gan-zoo fit`` arguments (without the subcommand) that train ``entry`` with its overrides, budget and ``seed``."""
    return [
        "--config", entry["config"], *[str(a) for a in entry.get("overrides") or []],
        "--trainer.max_epochs", "-1", "--trainer.max_steps", str(entry["budget"]["max_steps"]),
        "--seed_everything", str(seed), *[a for option in entry.get("seed_options") or [] for a in (f"--{option}", str(seed))],
        "--trainer.default_root_dir", str(out_dir),
        "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
    ]


def train(entry: dict[str, Any], seed: int, out_dir: Path) -> tuple[Path, float]:
    """Fit ``entry`` in-process; returns (last checkpoint, seconds)."""
    from gan_zoo.fit import cli_main

    start = time.time()
    cli = cli_main(fit_args(entry, seed, out_dir), run=False)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    ckpt = Path(cli.trainer.checkpoint_callback.last_model_path)
    if not ckpt.is_file():
        raise GanZooError(f"training wrote no last.ckpt under {out_dir}")
    return ckpt, time.time() - start


def _toy_metrics(ckpt: Path, protocol: dict[str, Any], use_ema: bool | None = None) -> dict[str, float]:
    """Mode coverage for a Gaussian mixture; precision and recall against a fresh draw (``reference_seed``, the
    same count) for a distribution without discrete modes (the swiss roll)."""
    from gan_zoo.data.toy import MODE_STD
    from gan_zoo.hub import load_gan_checkpoint
    from gan_zoo.metrics.modes import toy_mode_coverage, toy_precision_recall

    model = load_gan_checkpoint(str(ckpt))
    num = int(protocol["num_samples"])
    samples = model.sample(num, seed=int(protocol.get("seed", 0)), use_ema=use_ema)
    if protocol["dataset"] not in MODE_STD:
        pr = toy_precision_recall(samples, protocol["dataset"], num, seed=int(protocol.get("reference_seed", 1)), k=int(protocol.get("k", 3)))
        return {"precision": pr.precision, "recall": pr.recall}
    cov = toy_mode_coverage(samples, protocol["dataset"], float(protocol.get("num_std", 3.0)))
    return {"modes_covered": float(cov.modes_covered), "high_quality_share": cov.high_quality}


def evaluate_args(
    ckpt: Path, protocol: dict[str, Any], out: Path, data_dir: str | None = None, use_ema: bool | None = None
) -> list[str]:
    """``gan-zoo evaluate`` arguments for an image protocol (``use_ema`` False / True: ``--no-ema`` / ``--ema``;
    a protocol's ``center_crop`` S: ``--center-crop S``, for a config trained on padded images)."""
    args = [
        "--ckpt", str(ckpt), "--dataset", protocol["dataset"], "--metrics", *protocol["metrics"],
        "--num-samples", str(protocol["num_samples"]), "--num-real", str(protocol["num_real"]),
        "--reference", protocol.get("reference", "train"), "--seed", str(protocol.get("seed", 0)), "--out", str(out),
    ]
    args += {None: [], False: ["--no-ema"], True: ["--ema"]}[use_ema]
    args += ["--center-crop", str(protocol["center_crop"])] if protocol.get("center_crop") else []
    return args + (["--data-dir", data_dir] if data_dir else [])


def _classification_metrics(ckpt: Path, config: str, overrides: list[str], out: Path, data_dir: str | None) -> dict[str, float]:
    """``gan-zoo test --config CONFIG --ckpt_path CKPT`` in-process: the test errors it reports."""
    from gan_zoo.fit import cli_main

    args = ["test", "--config", config, *overrides, "--ckpt_path", str(ckpt), "--trainer.default_root_dir", str(out.parent),
            "--trainer.logger", "false", "--trainer.enable_progress_bar", "false"]
    cli = cli_main(args + (["--data.init_args.data_dir", data_dir] if data_dir else []))
    logged = cli.trainer.callback_metrics
    names = {"test_error": "test/error", "test_error_last": "test/error_last"}  # ledger metric -> what the model logs
    missing = [key for key in names.values() if key not in logged]
    if missing:
        raise GanZooError(f"gan-zoo test on {config} reported no {', '.join(missing)}; a classification protocol needs a model that logs them")
    return {metric: float(logged[key]) for metric, key in names.items()}


def measure(ckpt: Path, protocol: dict[str, Any], out: Path, data_dir: str | None = None, entry: dict[str, Any] | None = None) -> dict[str, float]:
    """Score a checkpoint with a ledger protocol: {metric: value}. A classification protocol needs the ledger
    ``entry``: ``gan-zoo test`` runs on its config with the overrides it was trained with. With an ``entry``, the
    generator scored is the one its evaluate command names (``entry_use_ema``; else the checkpoint's default)."""
    use_ema = None if entry is None else entry_use_ema(entry)
    if protocol.get("kind") == "toy":
        return _toy_metrics(ckpt, protocol, use_ema)
    if protocol.get("kind") == "classification":
        if entry is None:
            raise GanZooError("a classification protocol is scored with its entry's config; pass entry=")
        overrides = [str(a) for a in entry.get("overrides") or []]  # every subcommand takes the fit's options
        return _classification_metrics(ckpt, entry["config"], overrides, out, data_dir)
    from gan_zoo.evaluate import evaluate_main

    report = evaluate_main(evaluate_args(ckpt, protocol, out, data_dir, use_ema))
    values = {name: float(r["value"]) for name, r in report["results"].items()}
    coverage = report["results"].get("class_coverage")
    if coverage is not None:
        values["min_class_share"] = min_class_share(coverage["extras"]["histogram"])
    return values


def min_class_share(histogram: list[int]) -> float:
    """The rarest class's share of the samples, from the class-coverage histogram (counts per class)."""
    return min(histogram) / sum(histogram)


def check_tolerance(measured: dict[str, float], tolerance: dict[str, dict[str, float]]) -> list[tuple[str, float, str, bool]]:
    """[(metric, measured value, "lo..hi", inside?)] for every metric with a tolerance."""
    rows = []
    for metric, bounds in tolerance.items():
        value = measured.get(metric, math.nan)
        lo, hi = bounds.get("min", -math.inf), bounds.get("max", math.inf)
        rows.append((metric, value, f"{bounds.get('min', '')}..{bounds.get('max', '')}", lo <= value <= hi))
    return rows


def reproduce_main(argv: list[str]) -> int:
    """Train a config with its ledger budget and seed, evaluate it, compare with the ledger. Returns the exit code."""
    parser = ArgumentParser(prog="gan-zoo reproduce", description=reproduce_main.__doc__)
    parser.add_argument("config", help="a config in configs/ with a measured ledger entry")
    parser.add_argument("--ledger", default=str(DEFAULT_LEDGER), help="the results ledger (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=None, help="training seed (default: the ledger's first seed)")
    parser.add_argument("--out", default="runs/reproduce", help="folder for the run and its report")
    parser.add_argument("--data-dir", default=None, help="data root for the evaluation (default: $GAN_ZOO_DATA)")
    parser.add_argument("--ckpt", default=None,
                        help="skip training: judge this checkpoint of the config (e.g. one trained elsewhere)")
    args = parser.parse_args(argv)

    ledger = load_ledger(args.ledger)
    entry = find_entry(ledger, args.config)
    if entry["status"] != MEASURED:
        raise GanZooError(f"{entry['config']} is not measured in the ledger ({entry['reason']}); nothing to reproduce")
    if not Path(entry["config"]).is_file():
        raise GanZooError(f"{entry['config']} does not exist; run from the repository root")
    seed = entry["seeds"][0] if args.seed is None else args.seed
    base = Path(args.out) / Path(entry["config"]).with_suffix("").as_posix().replace("/", "_") / f"seed{seed}"
    out_dir, attempt = base, 1
    while out_dir.exists():  # never overwrite an earlier reproduction (LightningCLI refuses to, too)
        attempt += 1
        out_dir = base.with_name(f"{base.name}-{attempt}")

    if args.ckpt is not None:
        ckpt, fit_seconds = Path(args.ckpt), None
        if not ckpt.is_file():
            raise GanZooError(f"checkpoint {ckpt} does not exist; pass a .ckpt written by `gan-zoo fit`")
        out_dir.mkdir(parents=True)
    else:
        ckpt, fit_seconds = train(entry, seed, out_dir)
    measured = measure(ckpt, ledger["protocols"][entry["protocol"]], out_dir / "eval.json", args.data_dir, entry=entry)

    recorded = entry["results"]
    trained = "given checkpoint" if fit_seconds is None else f"{entry['budget']['max_steps']} steps in {fit_seconds:.0f} s"
    print(f"reproduce {entry['config']}: seed {seed}, {trained}, {ckpt}")
    print(f"{'metric':<20}{'measured':>12}  {'ledger (per seed)':<28}{'tolerance':<14}ok")
    tolerance_rows = {m: (lo_hi, ok) for m, _, lo_hi, ok in check_tolerance(measured, entry.get("tolerance") or {})}
    for metric, value in measured.items():
        ledger_values = ", ".join(f"{v:.4g}" for v in recorded.get(metric, []))
        lo_hi, ok = tolerance_rows.get(metric, ("", None))
        print(f"{metric:<20}{value:>12.4f}  {ledger_values:<28}{lo_hi:<14}{'' if ok is None else ('yes' if ok else 'NO')}")
    failed = [m for m, (_, ok) in tolerance_rows.items() if not ok]
    if failed:
        print(f"NOT reproduced: {', '.join(failed)} outside the ledger's tolerance")
        return 1
    print("reproduced: every metric within the ledger's tolerance")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(reproduce_main(sys.argv[1:]))
    except GanZooError as err:
        print(f"gan-zoo: error: {err}", file=sys.stderr)
        sys.exit(2)
