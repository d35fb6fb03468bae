"""Evidence that conditioning (cGAN) and latent codes (InfoGAN) control what is generated, on MNIST.

Every image is judged by the independent MNIST classifier shipped with the package
(``gan_zoo.metrics.load_domain_classifier("mnist")``, sha256-checked; 98.5 % test accuracy).

* ``cgan CKPT``: for each class k, ``--per-class`` samples ``model.sample(n, labels=k)``; reports the share the
  classifier assigns to the requested class, overall and per class (target >= 95 %).
* ``infogan CKPT``:
  (a) for each categorical code value k, ``--per-class`` samples with c_cat = k; the 10x10 table
      code value x predicted digit is matched one-to-one (maximum total count) and the accuracy under that
      matching is reported (``gan_zoo.metrics.scores.code_accuracy``, the ``code_accuracy`` metric of
      ``gan-zoo evaluate``; target >= 90 %; the paper reports about 5 % error);
  (b) for each continuous code j, ``--sweep-z`` random (z, c_cat) draws, each with c_j swept over
      ``--sweep`` values from -2 to 2 (other continuous codes 0). Per image: ink mass (mean of the
      [0, 1] pixel values), slant (mu11 / mu02 of the ink's second central moments, x = column, y = row
      pointing up: > 0 leans right) and width (sqrt(mu20), in pixels). Per draw the Spearman correlation
      between the code value and each property; reported: mean and median rho over draws, the share of
      draws with |rho| >= 0.9, and rho of the draw-averaged curve.

    python scripts/evidence_conditional.py cgan runs/cgan/mnist/.../checkpoints/last.ckpt --out cgan.json
    python scripts/evidence_conditional.py infogan runs/infogan/mnist/.../last.ckpt --out infogan.json

Checkpoints load with ``weights_only=True``; samples use the EMA generator when the model keeps one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from gan_zoo.metrics.classifier import classify, load_domain_classifier
from gan_zoo.metrics.scores import code_accuracy, label_accuracy
from gan_zoo.models.cgan import CGAN
from gan_zoo.models.infogan import InfoGAN

PROPERTIES = ("ink", "slant", "width")


def image_properties(images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Images (N, 1, H, W) in [-1, 1] -> {"ink", "slant", "width"}, each (N,), from the ink's moments."""
    ink = ((images[:, 0].double() + 1) / 2).clamp(0, 1)  # (N, H, W), 1 = ink
    n, h, w = ink.shape
    mass = ink.sum(dim=(1, 2)).clamp_min(1e-8)  # (N,)
    xs = torch.arange(w, dtype=torch.float64)[None, None, :]  # column index
    ys = -torch.arange(h, dtype=torch.float64)[None, :, None]  # row index, pointing up
    mx = (ink * xs).sum(dim=(1, 2)) / mass
    my = (ink * ys).sum(dim=(1, 2)) / mass
    dx = xs - mx[:, None, None]
    dy = ys - my[:, None, None]
    mu20 = (ink * dx * dx).sum(dim=(1, 2)) / mass
    mu02 = (ink * dy * dy).sum(dim=(1, 2)) / mass
    mu11 = (ink * dx * dy).sum(dim=(1, 2)) / mass
    return {"ink": mass / (h * w), "slant": mu11 / mu02.clamp_min(1e-8), "width": mu20.sqrt()}


def classified_per_value(model, k: int, per_class: int, seed: int, domain: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(labels, predicted classes), each (k * per_class,): ``per_class`` samples of each label value c, drawn with
    seed + c, judged by the domain classifier."""
    labels = torch.arange(k).repeat_interleave(per_class)
    predicted = torch.cat([classify(model.sample(per_class, labels=labels[c * per_class:(c + 1) * per_class],
                                                 seed=seed + c), domain) for c in range(k)])
    return labels, predicted


def cgan_evidence(path: str, per_class: int, seed: int, domain: str = "mnist") -> dict:
    model = CGAN.load_from_checkpoint(path, map_location="cpu").eval()
    result = label_accuracy(*classified_per_value(model, model.num_classes, per_class, seed, domain), num_classes=10)
    return {
        "share_classified_as_requested": result["accuracy"],
        "per_class": [round(s, 4) for s in result["per_label"]],
        "samples": model.num_classes * per_class,
    }


def infogan_evidence(path: str, per_class: int, sweep_z: int, sweep: int, seed: int, domain: str = "mnist") -> dict:
    model = InfoGAN.load_from_checkpoint(path, map_location="cpu").eval()
    matched = code_accuracy(*classified_per_value(model, model.num_categories, per_class, seed, domain), num_classes=10)
    accuracy, mapping, table = matched["accuracy"], matched["code_to_class"], np.array(matched["table"])

    values = torch.linspace(-2, 2, sweep)
    rng = torch.Generator().manual_seed(seed + 1000)
    z, cat, _ = model.generator.draw_codes(sweep_z, model.hparams.latent_prior, rng)  # random z and c_cat
    continuous_report = {}
    for j in range(model.num_continuous):
        cont = torch.zeros(sweep_z, sweep, model.num_continuous)
        cont[:, :, j] = values  # (M, V, J)
        latent = model.generator.make_latent(
            z.repeat_interleave(sweep, 0), cat.repeat_interleave(sweep, 0), cont.flatten(0, 1)
        )
        images = model.generate_eval(latent)  # (M·V, 1, H, W)
        props = image_properties(images)
        report = {}
        for name in PROPERTIES:
            curves = props[name].view(sweep_z, sweep).numpy()  # (M, V)
            rhos = [spearmanr(values.numpy(), row).statistic for row in curves]
            rhos = [0.0 if np.isnan(r) else float(r) for r in rhos]
            report[name] = {
                "mean_rho": round(statistics.fmean(rhos), 4),
                "median_rho": round(statistics.median(rhos), 4),
                "share_abs_rho_ge_0.9": round(sum(abs(r) >= 0.9 for r in rhos) / len(rhos), 4),
                "rho_of_mean_curve": round(float(spearmanr(values.numpy(), curves.mean(0)).statistic), 4),
                "mean_curve": [round(float(v), 4) for v in curves.mean(0)],
            }
        best = max(PROPERTIES, key=lambda p: abs(report[p]["mean_rho"]))
        continuous_report[f"c{j}"] = {"best_property": best, **report}
    return {
        "categorical_matched_accuracy": accuracy,
        "code_to_digit": mapping,
        "table_code_x_digit": table.tolist(),
        "samples": int(table.sum()),
        "sweep_values": [round(float(v), 3) for v in values],
        "sweep_draws": sweep_z,
        "continuous": continuous_report,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", choices=["cgan", "infogan"])
    parser.add_argument("checkpoint")
    parser.add_argument("--per-class", type=int, default=1000, help="samples per class / code value")
    parser.add_argument("--sweep-z", type=int, default=200, help="InfoGAN: random draws per continuous sweep")
    parser.add_argument("--sweep", type=int, default=9, help="InfoGAN: values from -2 to 2 per sweep")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--domain", choices=["mnist", "fashion_mnist"], default="mnist",
                        help="which shipped domain classifier judges the samples")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="also write the result as JSON here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    classifier = load_domain_classifier(args.domain)
    if args.model == "cgan":
        result = cgan_evidence(args.checkpoint, args.per_class, args.seed, args.domain)
    else:
        result = infogan_evidence(args.checkpoint, args.per_class, args.sweep_z, args.sweep, args.seed, args.domain)
    result = {
        "model": args.model,
        "checkpoint": args.checkpoint,
        "classifier": args.domain,
        "classifier_sha256": classifier.weights_sha256,
        "command": "python scripts/evidence_conditional.py " + " ".join(sys.argv[1:] if argv is None else argv),
        **result,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return result


if __name__ == "__main__":
    main()
