"""BEGAN's class shares against the bound its objective implies: p_G(c) <= p_data(c) / k_t.

    python scripts/began_share_bound.py RUN [RUN ...] [--last 40]

RUN is the report ``gan-zoo evaluate --ckpt CKPT ... --metrics class_coverage --out REPORT`` wrote, or a folder
holding one named ``eval.json``; k_t is read from the ``metrics.csv`` of the run version that CKPT belongs to (``train/k``).

Why the bound: D minimises L(x) − k_t L(G(z)). Where D cannot tell generated images of a class c from real
ones, lowering c's reconstruction energy changes L_D by p_data(c) − k_t p_G(c) per unit. While
p_G(c) < p_data(c) / k_t, D keeps c easy to reconstruct, and G, which minimises L(G(z)), has no reason to leave
it; above that share D starts pushing c's energy up. With k_t < 1 the shares p_data(c) / k_t sum to 1 / k_t > 1,
so G can fill the lowest-energy classes up to their bound and leave the rest nearly empty: on MNIST the
lowest-energy digit is the thin "1", whose share is then about p_data("1") / k_t. Only k_t → 1 allows every class
its data share. The script prints, per run, the mean k_t over the last ``--last`` logged steps, the most
frequent class's share of the samples and its bound.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from pathlib import Path

MNIST_TRAIN_CLASS_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)  # labels 0-9, 60,000 images


def share_bound(data_share: float, k: float) -> float:
    """p_data(c) / k_t, capped at 1 (k_t = 0 puts no bound)."""
    return 1.0 if k <= 0 else min(1.0, data_share / k)


def mean_k(metrics_csv: Path, last: int) -> float:
    with metrics_csv.open() as f:
        values = [float(row["train/k"]) for row in csv.DictReader(f) if row.get("train/k")]
    if not values:
        raise SystemExit(f"{metrics_csv} logs no train/k: is this a BEGAN run?")
    return statistics.fmean(values[-last:])


def find(run: Path, name: str) -> Path:
    if run.is_file():  # the report itself: `gan-zoo evaluate --out` names the file, not a folder
        return run
    hits = sorted(run.rglob(name))
    if not hits:
        raise SystemExit(f"no {name} under {run}")
    return hits[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--last", type=int, default=40, help="logged steps averaged for k_t (default 40)")
    args = parser.parse_args(argv)
    total = sum(MNIST_TRAIN_CLASS_COUNTS)
    print("| run | k_t (mean of last logged) | top class | its share | bound p_data/k_t | classes ≥ 5 % |")
    print("|---|---:|---:|---:|---:|---:|")
    for run in args.runs:
        report = json.loads(find(run, "eval.json").read_text())
        words = report["command"].split()
        ckpt = Path(words[words.index("--ckpt") + 1])
        k = mean_k(ckpt.parents[1] / "metrics.csv", args.last)  # version_N/checkpoints/x.ckpt -> version_N
        histogram = report["results"]["class_coverage"]["extras"]["histogram"]
        n = sum(histogram)
        top = max(range(len(histogram)), key=histogram.__getitem__)
        bound = share_bound(MNIST_TRAIN_CLASS_COUNTS[top] / total, k)
        at_least_5 = sum(count / n >= 0.05 for count in histogram)
        print(f"| {run} | {k:.3f} | {top} | {histogram[top] / n:.1%} | {bound:.1%} | {at_least_5} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
