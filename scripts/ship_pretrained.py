"""Ship a trained generator: export it into the package and record it in gan_zoo/pretrained/registry.yaml.

    python scripts/ship_pretrained.py dcgan-mnist --ckpt runs/.../last.ckpt --dataset mnist \
        --train-command "gan-zoo fit --config configs/dcgan/mnist.yaml ..." --seed 0 \
        --budget "5 epochs, 2340 G updates, batch 128" --hardware "2-core x86_64 CPU, 1 torch thread" \
        --wall-minutes 31

Steps (everything a registry entry holds is measured here, nothing typed in by hand but the training facts):
1. ``save_pretrained`` the checkpoint's generator (the EMA one when kept) into ``gan_zoo/pretrained/<name>/``.
2. ``reference_samples``: per-sample means and the overall std of ``model.sample(16, seed=0)`` computed from
   the *checkpoint* (``GANModule.sample``), which the test suite compares with the exported generator.
3. The full protocol: ``gan-zoo evaluate --pretrained <folder> --dataset D --metrics domain_fid domain_is
   class_coverage --num-samples 5000 --num-real 5000 --seed 0`` (reference: the first 5000 training images).
4. Conditional models: ``scripts/evidence_conditional.py``'s share of samples classified as the requested class
   (cGAN) or the best one-to-one code-to-class accuracy (InfoGAN), ``--per-class`` samples per class, computed
   on the exported generator.
5. ``ci_check``: the same metrics on a small sample (500 generated, 1000 real) that tests/test_pretrained.py
   recomputes in CI, with a tolerance.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gan_zoo.evaluate import evaluate_main  # noqa: E402
from gan_zoo.hub import (  # noqa: E402
    CONFIG_NAME, WEIGHTS_NAME, load_gan_checkpoint, load_pretrained_folder, save_pretrained, sha256_file,
)
from gan_zoo.zoo import PRETRAINED_DIR, REGISTRY_PATH, load_registry  # noqa: E402

METRICS = ["domain_fid", "domain_is", "class_coverage"]
CI_SAMPLES, CI_REAL = 500, 1000


def reference_samples(model, use_ema: bool, n: int = 16, seed: int = 0, tolerance: float = 1e-4) -> dict:
    """Statistics of the checkpoint's own samples (``GANModule.sample`` with the generator that is shipped)."""
    images = model.sample(n, seed=seed, use_ema=use_ema).double()
    return {
        "num": n,
        "seed": seed,
        "per_sample_mean": [round(float(v), 6) for v in images.flatten(1).mean(1)],
        "std": round(float(images.std()), 6),
        "tolerance": tolerance,
    }


def run_evaluate(folder: Path, dataset: str, num_samples: int, num_real: int, seed: int) -> tuple[dict, list[str]]:
    argv = ["--pretrained", str(folder), "--dataset", dataset, "--metrics", *METRICS, "--num-samples",
            str(num_samples), "--num-real", str(num_real), "--seed", str(seed)]
    with tempfile.TemporaryDirectory() as tmp:
        report = evaluate_main([*argv, "--out", str(Path(tmp) / "eval.json")])
    results = {}
    for name, r in report["results"].items():
        results[name] = {"value": round(r["value"], 4)} | ({"std": round(r["std"], 4)} if r.get("std") is not None else {})
    return results, argv


def conditional_evidence(kind: str, generator, per_class: int, domain: str) -> dict:
    """scripts/evidence_conditional.py's measures, on the exported generator itself."""
    from gan_zoo.metrics.classifier import classify

    spec = importlib.util.spec_from_file_location("evidence_conditional", ROOT / "scripts" / "evidence_conditional.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    k = generator.num_classes
    table = np.zeros((k, 10), dtype=np.int64)  # requested class / code value x predicted class
    for c in range(k):
        images = generator.sample(per_class, labels=torch.full((per_class,), c), seed=c)  # the script's seeds
        table[c] = np.bincount(classify(images, domain).numpy(), minlength=10)
    if kind == "cgan":
        return {"class_accuracy": {"value": round(float(np.trace(table) / table.sum()), 4),
                                   "per_class": [round(float(table[c, c] / table[c].sum()), 4) for c in range(k)],
                                   "samples": int(table.sum())}}
    accuracy, mapping = module.matched_accuracy(table)
    return {"code_accuracy": {"value": round(accuracy, 4), "code_to_class": mapping, "samples": int(table.sum())}}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("name", help="<model>-<dataset>, e.g. dcgan-mnist")
    p.add_argument("--ckpt", required=True)
    p.add_argument("--dataset", required=True, choices=["mnist", "fashion_mnist"])
    p.add_argument("--train-command", required=True)
    p.add_argument("--seed", type=int, required=True, help="the training run's --seed_everything")
    p.add_argument("--budget", required=True)
    p.add_argument("--hardware", required=True)
    p.add_argument("--wall-minutes", type=float, required=True)
    p.add_argument("--per-class", type=int, default=500, help="conditional evidence: samples per class")
    p.add_argument("--ema", action="store_true",
                   help="ship the EMA generator (default: the raw one; see the registry notes for why)")
    p.add_argument("--dtype", choices=["float32", "float16"], default="float32", help="storage precision")
    p.add_argument("--notes", default="")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.time()

    model = load_gan_checkpoint(args.ckpt)
    folder = save_pretrained(model, PRETRAINED_DIR / args.name, use_ema=args.ema, dtype=args.dtype)
    config = yaml.safe_load((folder / CONFIG_NAME).read_text())
    generator = model.generator_ema.module if config["ema"] else model.generator
    num_classes = getattr(generator, "num_classes", None)
    conditional = isinstance(num_classes, int)

    metrics, eval_argv = run_evaluate(folder, args.dataset, 5000, 5000, 0)
    if model.registry_name in ("cgan", "infogan"):
        shipped = load_pretrained_folder(folder)
        metrics |= conditional_evidence(model.registry_name, shipped, args.per_class, args.dataset)
    ci_metrics, ci_argv = run_evaluate(folder, args.dataset, CI_SAMPLES, CI_REAL, 0)

    entry = {
        "model": model.registry_name,
        "dataset": args.dataset,
        "resolution": list(generator.image_shape),
        "conditional": conditional,
        "source": "package",
        "weights_sha256": sha256_file(folder / WEIGHTS_NAME),
        "config_sha256": sha256_file(folder / CONFIG_NAME),
        "size_bytes": (folder / WEIGHTS_NAME).stat().st_size,
        "weights": f"{'ema' if config['ema'] else 'raw'} generator, {args.dtype}",
        "training": {
            "command": args.train_command,
            "seed": args.seed,
            "budget": args.budget,
            "g_updates": int(model.num_g_updates),
            "d_updates": int(model.num_d_updates),
            "hardware": args.hardware,
            "wall_minutes": args.wall_minutes,
        },
        "metrics": metrics,
        "evaluation": {
            "command": "gan-zoo evaluate --pretrained " + args.name + " " + " ".join(eval_argv[2:]),
            "reference": f"{args.dataset} train[:5000]",
            "classifier": f"gan_zoo/weights/domain_classifier_{args.dataset}.safetensors (domain FID/IS features)",
            "labels": "balanced (sample index mod K)" if conditional else "none",
            "conditional": (f"scripts/evidence_conditional.py's {model.registry_name} measure on the shipped generator, "
                            f"{args.per_class} samples per class, seeds 0..K-1, judged by the domain classifier")
                           if model.registry_name in ("cgan", "infogan") else None,
        },
        "ci_check": {
            "num_samples": CI_SAMPLES,
            "num_real": CI_REAL,
            "seed": 0,
            "metrics": {k: v["value"] for k, v in ci_metrics.items()},
            "relative_tolerance": 0.03,
            "command": "gan-zoo evaluate --pretrained " + args.name + " " + " ".join(ci_argv[2:]),
        },
        # float16 storage moves samples by ~1e-3 from the float32 checkpoint's
        "reference_samples": reference_samples(model, args.ema, tolerance=1e-4 if args.dtype == "float32" else 5e-3),
        "notes": args.notes,
    }
    registry = load_registry()
    registry["generators"][args.name] = entry
    registry["generators"] = dict(sorted(registry["generators"].items()))
    registry["not_shipped"].pop(args.name, None)
    header = REGISTRY_PATH.read_text().split("\ngenerators:")[0] if REGISTRY_PATH.is_file() else ""
    body = yaml.safe_dump({"generators": registry["generators"], "not_shipped": registry["not_shipped"]},
                          sort_keys=False, default_flow_style=None, width=120)
    REGISTRY_PATH.write_text(header.rstrip("\n") + "\n" + body)
    print(json.dumps({args.name: entry}, indent=2))
    print(f"shipped {args.name} in {time.time() - start:.0f} s")
    return entry


if __name__ == "__main__":
    main()
