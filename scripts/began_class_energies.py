"""Which classes a trained BEGAN under-samples, against how expensive D finds each class to reconstruct.

    python scripts/began_class_energies.py CKPT [CKPT ...] [--dataset mnist] [--num-samples 5000] [--num-real 10000]

The share bound (``scripts/began_share_bound.py``) predicts that G fills the classes D reconstructs most cheaply
and leaves the expensive ones short. This measures it per class, with the trained D of each checkpoint:

* real L(x): the mean reconstruction energy (Eq. 1) of that class's test images, resized to the training size
  the way the data modules do (bilinear, antialiased);
* share / p_data: the class's share of ``--num-samples`` generated images (labelled by the shipped domain
  classifier, as ``class_coverage`` does) over its share of the test split;
* fake L(G(z)): the mean energy of the generated images labelled as that class.

and the Spearman rank correlation between real L(x) and share / p_data over the classes: strongly negative
when the expensive-to-reconstruct classes are the under-sampled ones.
"""

from __future__ import annotations

import argparse
import sys

import torch
from scipy.stats import spearmanr

from gan_zoo.hub import load_gan_checkpoint
from gan_zoo.metrics.classifier import classify, resize_square
from gan_zoo.metrics.reference import load_split


def spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman's rank correlation of two per-class vectors (scipy, as scripts/evidence_conditional.py uses)."""
    return float(spearmanr(a.double().numpy(), b.double().numpy()).statistic)


def energies(model, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    return torch.cat([model.energy(chunk) for chunk in images.split(batch_size)])


@torch.no_grad()
def report(ckpt: str, dataset: str, num_samples: int, num_real: int, seed: int) -> None:
    model = load_gan_checkpoint(ckpt).eval()
    size = model.generator.image_shape[-1]
    real, labels = load_split(dataset, "test", limit=num_real)  # (N, 1, 28, 28) in [-1, 1]
    real = resize_square(real, size)  # as the data module and the FID reference take them
    fake = model.sample(num_samples, seed=seed)  # (M, 1, size, size)
    fake_labels = classify(fake, dataset)
    real_energy, fake_energy = energies(model, real), energies(model, fake)
    classes = int(labels.max()) + 1
    data_share = torch.bincount(labels, minlength=classes).double() / len(labels)
    fake_share = torch.bincount(fake_labels, minlength=classes).double() / len(fake_labels)
    real_mean = torch.stack([real_energy[labels == c].mean() for c in range(classes)]).double()
    print(f"{ckpt}: k_t {float(model.k):.3f}, real L(x) {float(real_energy.mean()):.4f}, "
          f"fake L(G(z)) {float(fake_energy.mean()):.4f}")
    print("| class | real L(x) | share of samples | share / p_data | fake L(G(z)) |")
    print("|---:|---:|---:|---:|---:|")
    for c in real_mean.argsort().tolist():
        picked = fake_labels == c
        fake_mean = f"{float(fake_energy[picked].mean()):.4f}" if picked.any() else "-"
        print(f"| {c} | {float(real_mean[c]):.4f} | {float(fake_share[c]):.1%} | "
              f"{float(fake_share[c] / data_share[c]):.2f} | {fake_mean} |")
    print(f"Spearman(real L(x), share / p_data) over {classes} classes: "
          f"{spearman(real_mean, fake_share / data_share):+.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ckpts", nargs="+")
    parser.add_argument("--dataset", default="mnist", choices=["mnist", "fashion_mnist"])
    parser.add_argument("--num-samples", type=int, default=5000)
    parser.add_argument("--num-real", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for ckpt in args.ckpts:
        report(ckpt, args.dataset, args.num_samples, args.num_real, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
