"""The toy mode-collapse study: vanilla GAN vs WGAN vs WGAN-GP on 2-D Gaussian mixtures.

Trains every model on the 8-Gaussian ring and the 25-Gaussian grid with its config from ``configs/``
(``configs/{vanilla_gan,wgan,wgan_gp}/{gaussians8,gaussians25}.yaml``) for the same number of
*generator updates* (WGAN/WGAN-GP take n_critic = 5 critic steps per generator update, the vanilla GAN
one), for several seeds, through the same CLI as ``gan-zoo fit``. Then it draws ``--num-samples`` points
from each generator and counts, with ``gan_zoo.metrics.modes`` (3σ protocol):

* modes covered: modes with at least one sample within 3σ of their centre;
* high-quality share: the fraction of samples within 3σ of some mode.

It prints a Markdown table (mean ± std over seeds, and the per-seed values), writes it with the raw
numbers to ``<out>/results.md`` and ``<out>/results.json``, and saves scatter plots of the samples over the
true modes (red) to ``<out>/<dataset>_seed<seed>.png`` (one panel per model, left to right in ``--models``
order).

    python scripts/toy_study.py --g-updates 10000 --seeds 0 1 2            # the configs' full budget
    python scripts/toy_study.py --g-updates 1000 --seeds 0 1 --hidden 128   # a CPU-sized run

``--hidden`` replaces the nets' hidden widths (512 in the configs) for every model alike. ``--gp-weight``
replaces WGAN-GP's λ (the configs' 0.1; the table in docs/studies.md at width 128 ran with the paper's 10).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path

import torch
from torchvision.utils import make_grid, save_image

from gan_zoo.callbacks import render_points
from gan_zoo.cli import cli_main
from gan_zoo.data.toy import MODE_STD, toy_modes
from gan_zoo.metrics.modes import toy_mode_coverage

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("vanilla_gan", "wgan", "wgan_gp")
DATASETS = ("gaussians8", "gaussians25")
EXTENT = {"gaussians8": 3.0, "gaussians25": 6.0}  # half-width of the plotted square


def train(model: str, dataset: str, seed: int, g_updates: int, hidden: int | None, gp_weight: float | None, out: Path):
    """Fit one model through the CLI; returns the trained LightningModule."""
    config = ROOT / "configs" / model / f"{dataset}.yaml"
    n_critic = 1 if model == "vanilla_gan" else 5  # the configs' (and papers') values
    args = [
        "fit",
        "--config", str(config),
        f"--seed_everything={seed}",
        f"--trainer.max_steps={g_updates * (n_critic + 1)}",  # Lightning counts D and G steps
        "--trainer.logger=false",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false",
        f"--trainer.default_root_dir={out / 'runs' / f'{model}_{dataset}_seed{seed}'}",
        "--sample_grid.every_n_g_steps=0",  # only the final scatter
        "--checkpoint.save_last=false",
        f"--checkpoint.every_n_train_steps={10 ** 9}",
    ]
    if hidden is not None:
        widths = f"[{hidden},{hidden},{hidden}]"
        args += [
            f"--model.init_args.generator.init_args.hidden={widths}",
            f"--model.init_args.discriminator.init_args.hidden={widths}",
        ]
    if gp_weight is not None and model == "wgan_gp":
        args.append(f"--model.init_args.gp_weight={gp_weight}")
    cli = cli_main(args)
    module = cli.model
    if int(module.g_updates) != g_updates:
        raise RuntimeError(f"{model} ran {int(module.g_updates)} generator updates, expected {g_updates}")
    return module


def scatter(points: torch.Tensor, dataset: str, size: int = 256) -> torch.Tensor:
    """Samples as dark dots over red hollow squares around the true modes: (3, size, size) in [0, 1].

    The squares (half-width 5 px) are drawn only on background pixels, so samples stay visible."""
    extent = EXTENT[dataset]
    image = render_points(points, size=size, extent=extent)
    marker = torch.zeros(size, size, dtype=torch.bool)
    for centre in toy_modes(dataset):
        i, j = ((centre / extent + 1) / 2 * (size - 1)).round().long().tolist()
        row, col = size - 1 - j, i  # y grows upward, as in render_points
        top, bottom, left, right = max(row - 5, 0), min(row + 5, size - 1), max(col - 5, 0), min(col + 5, size - 1)
        marker[top, left : right + 1] = marker[bottom, left : right + 1] = True
        marker[top : bottom + 1, left] = marker[top : bottom + 1, right] = True
    paint = marker & (image[0] == 1)  # background only
    for channel, value in enumerate((0.9, 0.1, 0.1)):
        image[channel][paint] = value
    return image


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--g-updates", type=int, default=10_000, help="generator updates per run (same for every model)")
    parser.add_argument("--hidden", type=int, default=None, help="hidden width of both nets (default: the configs' 512)")
    parser.add_argument("--gp-weight", type=float, default=None, help="WGAN-GP's λ (default: the configs' 0.1)")
    parser.add_argument("--num-samples", type=int, default=2500, help="samples drawn for the metrics")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "toy_study")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", message=".*args parameter is intended.*")  # we pass args on purpose
    args.out.mkdir(parents=True, exist_ok=True)

    results: list[dict] = []
    panels: dict[tuple[str, int], list[torch.Tensor]] = {}
    for dataset in args.datasets:
        for seed in args.seeds:
            for model in args.models:
                start = time.time()
                module = train(model, dataset, seed, args.g_updates, args.hidden, args.gp_weight, args.out)
                points = module.sample(args.num_samples, seed=10_000 + seed)  # (N, 2)
                cov = toy_mode_coverage(points, dataset)
                row = {
                    "model": model, "dataset": dataset, "seed": seed, "g_updates": args.g_updates,
                    "modes_covered": cov.modes_covered, "num_modes": cov.num_modes,
                    "high_quality": cov.high_quality, "seconds": round(time.time() - start, 1),
                }
                results.append(row)
                print(json.dumps(row), flush=True)
                panels.setdefault((dataset, seed), []).append(scatter(points, dataset))
            save_image(make_grid(panels[(dataset, seed)], nrow=len(args.models), padding=4, pad_value=0.5),
                       args.out / f"{dataset}_seed{seed}.png")

    table = format_table(results, args)
    print(table)
    (args.out / "results.md").write_text(table + "\n")
    (args.out / "results.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "runs": results}, indent=1))
    return {"runs": results, "table": table}


def format_table(results: list[dict], args: argparse.Namespace) -> str:
    width = f"hidden width {args.hidden}" if args.hidden else "the configs' nets"
    lines = [
        f"{args.g_updates} generator updates per run, {width}, seeds {args.seeds}, {args.num_samples} samples; "
        "3σ protocol (σ = " + ", ".join(f"{d}: {MODE_STD[d]}" for d in args.datasets) + ")",
        "",
        "| dataset | model | modes covered (mean ± std) | high-quality share (mean ± std) | per seed (modes / share) |",
        "|---|---|---|---|---|",
    ]
    for dataset in args.datasets:
        for model in args.models:
            runs = [r for r in results if r["model"] == model and r["dataset"] == dataset]
            modes = [r["modes_covered"] for r in runs]
            share = [r["high_quality"] for r in runs]
            sd = lambda v: statistics.stdev(v) if len(v) > 1 else 0.0  # noqa: E731
            per_seed = ", ".join(f"{m}/{s:.2f}" for m, s in zip(modes, share))
            lines.append(
                f"| {dataset} | {model} | {statistics.mean(modes):.1f} ± {sd(modes):.1f} of {runs[0]['num_modes']} "
                f"| {statistics.mean(share):.3f} ± {sd(share):.3f} | {per_seed} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
