"""The semi-supervised GAN's error against training time, from its run folders: one table per run set.

    python scripts/semi_supervised_curve.py \\
        --run 0=runs/ssl/e8_seed0,runs/ssl/e20_seed0_resume,runs/ssl3/long_seed0 \\
        --run 1=... --run 2=... --test-epochs 25 50 75 --out docs/semi_supervised_mnist_100labels.md

A seed's run may be a chain of folders (a run resumed with ``--ckpt_path`` into a new folder): the
validation error after every epoch comes from each folder's ``metrics.csv`` (``val/error`` scores the moving
average of D, ``val/error_last`` D's current weights, on the held-out training images), and the test error
at each of ``--test-epochs`` from ``gan-zoo test --config CONFIG --ckpt_path <that epoch's checkpoint>``, run
in this process (``cli_main``) on the official MNIST test split. Writes a Markdown table (test error per
seed, mean ± sample std over seeds) with the validation curve, and a JSON file with every number beside it.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHECKPOINT = re.compile(r"epoch=(\d+)-step=\d+\.ckpt$")


def parse_run(text: str) -> tuple[int, list[Path]]:
    seed, _, folders = text.partition("=")
    if not folders:
        raise argparse.ArgumentTypeError(f"--run takes SEED=FOLDER[,FOLDER...], got {text!r}")
    return int(seed), [Path(f) for f in folders.split(",")]


def validation_curve(folders: list[Path]) -> dict[int, tuple[float, float]]:
    """1-based epoch -> (val/error, val/error_last), later folders overriding earlier ones."""
    curve: dict[int, tuple[float, float]] = {}
    for folder in folders:
        for path in sorted(folder.glob("**/metrics.csv")):
            for row in csv.DictReader(path.open()):
                if row.get("val/error"):
                    curve[int(row["epoch"]) + 1] = (float(row["val/error"]), float(row["val/error_last"]))
    return dict(sorted(curve.items()))


def checkpoints(folders: list[Path]) -> dict[int, Path]:
    """1-based epoch -> the epoch-end checkpoint saved after it."""
    found: dict[int, Path] = {}
    for folder in folders:
        for path in folder.glob("**/checkpoints/*.ckpt"):
            match = CHECKPOINT.search(path.name)
            if match:
                found[int(match.group(1)) + 1] = path
    return found


def test_error(config: str, ckpt: Path) -> dict[str, float]:
    """``gan-zoo test --config CONFIG --ckpt_path CKPT`` in this process: test/error and test/error_last."""
    import tempfile

    from gan_zoo.cli import cli_main

    with tempfile.TemporaryDirectory(prefix="gan_zoo_ssl_test_") as folder:  # nothing of the test run is kept
        cli = cli_main(["test", "--config", config, "--ckpt_path", str(ckpt), "--trainer.enable_progress_bar", "false",
                        "--trainer.logger", "false", "--trainer.default_root_dir", folder])
    metrics = cli.trainer.callback_metrics
    return {"test_error": float(metrics["test/error"]), "test_error_last": float(metrics["test/error_last"])}


def percent(value: float) -> str:
    return f"{100 * value:.2f}"


def mean_std(values: list[float]) -> str:
    if len(values) < 2:
        return percent(values[0]) if values else "—"
    return f"{100 * statistics.mean(values):.2f} ± {100 * statistics.stdev(values):.2f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=parse_run, action="append", required=True, help="SEED=FOLDER[,FOLDER...]")
    parser.add_argument("--config", default="configs/semi_supervised_gan/mnist_100labels.yaml")
    parser.add_argument("--test-epochs", type=int, nargs="+", default=[])
    parser.add_argument("--out", type=Path, required=True, help="Markdown file; the JSON goes beside it")
    args = parser.parse_args(argv)

    runs = dict(args.run)
    report: dict = {"config": args.config, "seeds": {}}
    for seed, folders in runs.items():
        found = checkpoints(folders)
        tests = {}
        for epoch in args.test_epochs:
            if epoch in found:
                tests[epoch] = test_error(args.config, found[epoch]) | {"checkpoint": str(found[epoch])}
        report["seeds"][seed] = {
            "folders": [str(f) for f in folders],
            "validation": {e: {"error": v[0], "error_last": v[1]} for e, v in validation_curve(folders).items()},
            "test": tests,
        }

    seeds = sorted(report["seeds"])
    lines = [
        f"# Semi-supervised GAN: error against training time (`{args.config}`)",
        "",
        "Made by `python scripts/semi_supervised_curve.py` (its docstring: what each column scores). Test error",
        "on the 10,000 MNIST test images; mean ± sample std over the seeds that reached the epoch.",
        "",
        "| epochs | " + " | ".join(f"seed {s}: averaged / last D, %" for s in seeds) + " | mean averaged D, % | mean last D, % |",
        "|---:|" + "---|" * len(seeds) + "---|---|",
    ]
    for epoch in args.test_epochs:
        cells, averaged, last = [], [], []
        for s in seeds:
            t = report["seeds"][s]["test"].get(epoch)
            cells.append(f"{percent(t['test_error'])} / {percent(t['test_error_last'])}" if t else "—")
            if t:
                averaged.append(t["test_error"])
                last.append(t["test_error_last"])
        lines.append(f"| {epoch} | " + " | ".join(cells) + f" | {mean_std(averaged)} | {mean_std(last)} |")
    lines += ["", "Validation error (5,000 held-out training images) after each epoch, averaged / last D, %:", ""]
    lines += ["| epochs | " + " | ".join(f"seed {s}" for s in seeds) + " |", "|---:|" + "---|" * len(seeds)]
    epochs = sorted({e for s in seeds for e in report["seeds"][s]["validation"]})
    for epoch in epochs:
        cells = []
        for s in seeds:
            v = report["seeds"][s]["validation"].get(epoch)
            cells.append(f"{percent(v['error'])} / {percent(v['error_last'])}" if v else "—")
        lines.append(f"| {epoch} | " + " | ".join(cells) + " |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out} and {args.out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
