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
        found.append((-1, "final", last))  # its images shown come from the loaded model
    return found


def svg_plot(rows: list[dict], keys: list[str], title: str, boundaries: list[int]) -> str:
    """A dependency-free line plot of ``keys`` against images shown, stage boundaries dashed."""
    w, h, pad = 640, 300, 50
    xs = [r["images"] for r in rows]
    ys = [r[k] for r in rows for k in keys]
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
    for key, colour in zip(keys, ("#1f77b4", "#ff7f0e", "#2ca02c")):
        points = " ".join(f"{sx(r['images']):.1f},{sy(r[key]):.1f}" for r in rows)
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for r in rows:
            out.append(f'<circle cx="{sx(r["images"]):.1f}" cy="{sy(r[key]):.1f}" r="3.5" fill="{colour}"/>')
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
    for _, label, ckpt in milestones(args.log_dir):
        model = ProGAN.load_from_checkpoint(ckpt, map_location="cpu")
        point = model.growth
        row = {"images": model.num_images_shown, "label": label, "stage": point.stage, "alpha": point.alpha,
               "resolution": point.resolution, "checkpoint": str(ckpt)}
        for which, flag in (("ema", "--ema"), ("raw", "--no-ema")):  # the EMA generator and G itself
            out = ckpt.with_suffix(f".eval_{which}.json")
            flags = ["--ckpt", str(ckpt), "--dataset", args.dataset, "--metrics", *METRICS, flag,
                     "--num-samples", str(args.num_samples), "--num-real", str(args.num_real), "--out", str(out)]
            report = json.loads(out.read_text()) if out.is_file() and label != "final" else None
            if report is None or report["command"] != "gan-zoo evaluate " + " ".join(flags):  # same flags?
                report = evaluate_main(flags)
            for name in METRICS:
                row[f"{name}_{which}"] = report["results"][name]["value"]
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
        (args.docs / f"{name}_{metric}.svg").write_text(svg_plot(
            rows, [f"{metric}_ema", f"{metric}_raw"],
            f"ProGAN {args.dataset}: {metric} (blue: EMA G, orange: G; dashed: a fade-in starts)", boundaries,
        ))
    lines = ["| real images shown | milestone | stage (res.) | α | domain FID ↓ EMA / G | domain IS ↑ EMA / G | class coverage ↑ EMA / G |",
             "|---:|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['images']:,} | {r['label']} | {r['stage']} ({r['resolution']}²) | {r['alpha']:.3f} | "
            f"{r['domain_fid_ema']:.1f} / {r['domain_fid_raw']:.1f} | {r['domain_is_ema']:.2f} / {r['domain_is_raw']:.2f} | "
            f"{r['class_coverage_ema']:.1f} / {r['class_coverage_raw']:.1f} |"
        )
    (args.docs / f"{name}_table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
