"""Salimans et al. 2016 at equal budget on MNIST: DCGAN vs each technique alone vs all five together.

    python scripts/improved_gan_table.py --base-channels 16 --max-steps 1000 --seeds 0 --out docs/improved_gan_mnist_table.md

Every run trains one of the configs below with the same overrides (net width, batch, ``max_steps``, seed), so
all of them take the same number of G updates (one D and one G step per batch in each), and is then scored by
``gan-zoo evaluate`` with the shipped MNIST domain classifier (domain FID and IS, class coverage, the rarest
class's share of the samples). Runs are sequential subprocesses (``gan-zoo fit`` then ``gan-zoo evaluate``),
exactly the commands a user would type, which the table repeats. Writes a Markdown table (mean ± spread
over seeds where there is more than one) and a JSON file with every run's numbers beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from gan_zoo.reproduce import evaluate_args, fit_args, min_class_share

REPO = Path(__file__).resolve().parents[1]
CONFIGS = {  # row label -> config
    "DCGAN (baseline)": "configs/dcgan/mnist.yaml",
    "feature matching alone": "configs/improved_gan/mnist_feature_matching.yaml",
    "minibatch discrimination alone": "configs/improved_gan/mnist_minibatch.yaml",
    "historical averaging alone": "configs/improved_gan/mnist_historical.yaml",
    "one-sided label smoothing alone": "configs/improved_gan/mnist_label_smoothing.yaml",
    "virtual batch norm alone": "configs/improved_gan/mnist_vbn.yaml",
    "all five": "configs/improved_gan/mnist.yaml",
}
METRICS = ("domain_fid", "domain_is", "class_coverage")


def fit_command(config: str, args: argparse.Namespace, seed: int, root: Path) -> list[str]:
    """``gan-zoo fit`` for one row: the ledger's ``fit_args`` with this table's shared overrides and budget."""
    width = str(args.base_channels)
    overrides = [
        "--model.init_args.generator.init_args.base_channels", width,
        "--model.init_args.discriminator.init_args.base_channels", width,
        "--data.init_args.batch_size", str(args.batch_size),
    ]
    entry = {"config": config, "overrides": overrides, "budget": {"max_steps": args.max_steps}}
    return ["gan-zoo", "fit", *fit_args(entry, seed, root)]


def evaluate_command(ckpt: Path, args: argparse.Namespace, out: Path) -> list[str]:
    protocol = {"dataset": "mnist", "metrics": list(METRICS), "num_samples": args.num_samples, "num_real": args.num_samples}
    return ["gan-zoo", "evaluate", *evaluate_args(ckpt, protocol, out)]


def run(command: list[str], log: Path) -> None:
    with log.open("w") as sink:
        done = subprocess.run(command, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT, env=os.environ.copy())
    if done.returncode != 0:
        sys.exit(f"{shlex.join(command)} failed (exit {done.returncode}); see {log}")


def one_run(label: str, config: str, args: argparse.Namespace, seed: int) -> dict:
    root = args.runs / f"{Path(config).stem}_{Path(config).parent.name}_s{seed}"
    fit = fit_command(config, args, seed, root)
    saved = root / "row.json"
    if args.reuse and saved.is_file():
        row = json.loads(saved.read_text())
        if row["fit_command"] == shlex.join(fit):  # the same run: keep its numbers
            print(json.dumps(row), flush=True)
            return row
    root.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    run(fit, root / "fit.log")
    wall = time.perf_counter() - start
    ckpt = root / "checkpoints" / "last.ckpt"  # fit_args turns the logger off: checkpoints sit under the root
    report = root / "eval.json"
    run(evaluate_command(ckpt, args, report), root / "eval.log")
    results = json.loads(report.read_text())["results"]
    row = {
        "label": label, "config": config, "seed": seed, "wall_s": round(wall), "fit_command": shlex.join(fit),
        "domain_fid": results["domain_fid"]["value"], "domain_is": results["domain_is"]["value"],
        "class_coverage": results["class_coverage"]["value"],
        "min_class_share": min_class_share(results["class_coverage"]["extras"]["histogram"]),
    }
    saved.write_text(json.dumps(row) + "\n")
    print(json.dumps(row), flush=True)
    return row


def cell(values: list[float], digits: int) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def table(rows: list[dict], args: argparse.Namespace) -> str:
    g_updates = args.max_steps // 2  # Lightning counts the D and the G step of each batch
    lines = [
        f"Equal budget on MNIST: {g_updates} G updates each (batch {args.batch_size}, base_channels "
        f"{args.base_channels}), seeds {', '.join(map(str, args.seeds))}; {args.num_samples} samples vs "
        f"{args.num_samples} training images, shipped MNIST domain classifier; mean ± sample standard deviation "
        f"over the seeds. Wall times are from a shared machine with other jobs running, so only roughly comparable. "
        f"Command: `python scripts/improved_gan_table.py {' '.join(args.argv)}`.",
        "",
        "| run | config | domain FID ↓ | domain IS ↑ | class coverage ↑ | rarest class share | wall s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for label, config in CONFIGS.items():
        mine = [r for r in rows if r["label"] == label]
        if not mine:
            continue
        lines.append(
            f"| {label} | `{config}` | {cell([r['domain_fid'] for r in mine], 1)} | {cell([r['domain_is'] for r in mine], 2)} "
            f"| {cell([r['class_coverage'] for r in mine], 1)} | {cell([r['min_class_share'] for r in mine], 3)} "
            f"| {cell([r['wall_s'] for r in mine], 0)} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-channels", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-steps", type=int, default=1000, help="Lightning steps: D + G steps, 2 per batch")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--num-samples", type=int, default=2000)
    parser.add_argument("--only", nargs="*", help="row labels to run (default: all)")
    parser.add_argument("--reuse", action="store_true", help="keep the numbers of runs already done with the same command")
    parser.add_argument("--runs", type=Path, default=REPO / "runs" / "improved_gan_table")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "improved_gan_mnist_table.md")
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv
    rows = []
    for seed in args.seeds:
        for label, config in CONFIGS.items():
            if args.only and label not in args.only:
                continue
            rows.append(one_run(label, config, args, seed))
    args.out.write_text(table(rows, args))
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
    print(table(rows, args))


if __name__ == "__main__":
    main()
