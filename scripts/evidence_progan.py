"""Score a ProGAN run at every milestone (each stage's end and the middle of each fade-in) with the shipped
domain metrics, and write the table, an SVG plot and the per-stage sample grids into ``docs/``.

    python scripts/evidence_progan.py RUN_LOG_DIR --dataset fashion_mnist [--num-samples 5000] [--num-real 10000]

``RUN_LOG_DIR`` is the run's log folder, holding ``progan/<images>_<label>.ckpt`` (written by
``ProgressiveGrowing(milestone_checkpoints=True)``) and ``checkpoints/last.ckpt``. Each checkpoint is scored by
``gan-zoo evaluate`` (in-process: ``evaluate_main``), samples from the EMA generator shown at the final size
(the current stage's output nearest-upsampled, exactly what ``sample()`` returns), against the first
``--num-real`` training images. Writes ``docs/progan_<dataset>.md`` (table), ``docs/progan_<dataset>.svg``
(plot) and copies the milestone grids to ``docs/progan_<dataset>/``.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch

from gan_zoo.evaluate import evaluate_main
from gan_zoo.models.progan import ProGAN

METRICS = ("domain_fid", "domain_is", "class_coverage")


def milestones(log_dir: Path) -> list[tuple[int, str, Path]]:
    found = []
    for ckpt in sorted((log_dir / "progan").glob("*.ckpt")):
        images, label = ckpt.stem.split("_", 1)
        found.append((int(images), label.replace("_", " "), ckpt))
    last = log_dir / "checkpoints" / "last.ckpt"
    if last.is_file():
        state = torch.load(last, map_location="cpu", weights_only=True)["state_dict"]
        found.append((int(state["images_shown"]), "final", last))
    return found


def svg_plot(rows: list[dict], metric: str, title: str, boundaries: list[int]) -> str:
    """A dependency-free line plot of ``metric`` against images shown, stage boundaries dashed."""
    w, h, pad = 640, 300, 50
    xs = [r["images"] for r in rows]
    ys = [r[metric] for r in rows]
    x_max = max(xs) * 1.05
    y_min, y_max = min(ys), max(ys)
    y_min, y_max = y_min - 0.05 * (y_max - y_min + 1e-9), y_max + 0.05 * (y_max - y_min + 1e-9)
    sx = lambda x: pad + (w - 2 * pad) * x / x_max  # noqa: E731
    sy = lambda y: h - pad - (h - 2 * pad) * (y - y_min) / (y_max - y_min)  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="18" text-anchor="middle" font-size="13">{title}</text>',
           f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="black"/>',
           f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{h - pad}" stroke="black"/>',
           f'<text x="{w / 2}" y="{h - 12}" text-anchor="middle">real images shown (thousands)</text>']
    for b in boundaries:
        out.append(f'<line x1="{sx(b):.1f}" y1="{pad}" x2="{sx(b):.1f}" y2="{h - pad}" stroke="#999" stroke-dasharray="4 3"/>')
    for i in range(5):
        y = y_min + (y_max - y_min) * i / 4
        out.append(f'<text x="{pad - 4}" y="{sy(y) + 4:.1f}" text-anchor="end">{y:.2f}</text>')
    for x in xs:
        out.append(f'<text x="{sx(x):.1f}" y="{h - pad + 14}" text-anchor="middle">{x // 1000}</text>')
    points = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, ys))
    out.append(f'<polyline points="{points}" fill="none" stroke="#1f77b4" stroke-width="2"/>')
    for r in rows:
        out.append(f'<circle cx="{sx(r["images"]):.1f}" cy="{sy(r[metric]):.1f}" r="3.5" fill="#1f77b4"/>')
    out.append("</svg>")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("log_dir", type=Path)
    p.add_argument("--dataset", default="fashion_mnist", choices=["mnist", "fashion_mnist"])
    p.add_argument("--num-samples", type=int, default=5000)
    p.add_argument("--num-real", type=int, default=10000)
    p.add_argument("--docs", type=Path, default=Path(__file__).parents[1] / "docs")
    args = p.parse_args()

    rows = []
    for images, label, ckpt in milestones(args.log_dir):
        model = ProGAN.load_from_checkpoint(ckpt, map_location="cpu")
        point = model.growth
        report = evaluate_main([
            "--ckpt", str(ckpt), "--dataset", args.dataset, "--metrics", *METRICS,
            "--num-samples", str(args.num_samples), "--num-real", str(args.num_real),
            "--out", str(ckpt.with_suffix(".eval.json")),
        ])
        row = {"images": images, "label": label, "stage": point.stage, "alpha": point.alpha,
               "resolution": point.resolution, "checkpoint": str(ckpt)}
        for name in METRICS:
            row[name] = report["results"][name]["value"]
        rows.append(row)
        print(json.dumps(row), flush=True)

    name = f"progan_{args.dataset}"
    grids = args.docs / name
    grids.mkdir(parents=True, exist_ok=True)
    for png in sorted((args.log_dir / "progan").glob("*.png")):
        shutil.copy(png, grids / png.name)
    (args.docs / f"{name}.json").write_text(json.dumps(rows, indent=2) + "\n")
    sched = ProGAN.load_from_checkpoint(rows[-1]["checkpoint"], map_location="cpu").schedule
    boundaries = [sched.stage_start(s) for s in range(1, sched.num_stages)]
    for metric in METRICS:
        (args.docs / f"{name}_{metric}.svg").write_text(
            svg_plot(rows, metric, f"ProGAN {args.dataset} 32x32: {metric} (dashed: a new block starts fading in)", boundaries)
        )
    lines = ["| real images shown | milestone | stage (resolution) | α at the checkpoint | domain FID ↓ | domain IS ↑ | class coverage ↑ |",
             "|---:|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['images']:,} | {r['label']} | {r['stage']} ({r['resolution']}×{r['resolution']}) | "
                     f"{r['alpha']:.3f} | {r['domain_fid']:.2f} | {r['domain_is']:.2f} | {r['class_coverage']:.2f} |")
    (args.docs / f"{name}_table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
