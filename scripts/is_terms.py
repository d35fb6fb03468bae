"""Why a domain Inception Score is low: uneven classes or ambiguous samples.

    python scripts/is_terms.py SOURCE [SOURCE ...] [--dataset mnist] [--num-samples 5000] [--num-real 5000] [--seed 0]
                               [--center-crop S]

SOURCE is a training checkpoint (``.ckpt``, sampled as ``gan-zoo evaluate --ckpt`` samples it by default) or a
pretrained generator (a name from ``gan-zoo pretrained``, or an exported folder). With p(y|x) from the shipped
domain classifier, IS = exp(H(y) − E_x H(y|x)) over all samples (one split; ``gan-zoo evaluate`` reports the
mean over 10 splits, a little lower). The two terms separate the causes:

* H(y), the entropy of the class histogram: log K (2.303 for 10 classes) when every class is drawn equally;
* E_x H(y|x), the mean entropy of single predictions: near 0 when each sample is clearly one class.

Each row also gives the score with either cause removed: ``IS if balanced`` = exp(log K − E_x H(y|x)) (the same
samples drawn in equal class shares) and ``IS if as clear as real`` = exp(H(y) − E_x H(y|x) of the real test
images). The first row scores ``--num-real`` real test images, the ceiling of the classifier. A source whose
samples are not 28×28 (BEGAN's 32×32) is compared with the real images taken through its samples' resizes
(28 → S → 28, bilinear with antialiasing, as the data module and the FID reference take them), in a row of its
own: the ceiling a generator trained on resized digits can reach (the round trip blurs the strokes).
``--center-crop S`` scores the central SxS pixels of each sample instead (a generator trained on padded digits,
data ``image_fit: pad``), as ``gan-zoo evaluate --center-crop S``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch

from gan_zoo.metrics.classifier import domain_logits, resize_square
from gan_zoo.metrics.driver import crop_center
from gan_zoo.metrics.reference import load_split
from gan_zoo.metrics.scores import inception_score_terms


def samples(source: str, n: int, seed: int) -> torch.Tensor:
    if source.endswith(".ckpt"):
        from gan_zoo.hub import load_gan_checkpoint

        return load_gan_checkpoint(source).eval().sample(n, seed=seed)
    from gan_zoo.hub import load_pretrained

    return load_pretrained(Path(source) if Path(source).is_dir() else source).sample(n, seed=seed)


def row(name: str, logits: torch.Tensor, real_conditional: float) -> str:
    marginal, conditional = inception_score_terms(logits)
    classes = logits.shape[1]
    score = math.exp(marginal - conditional)
    balanced = math.exp(math.log(classes) - conditional)
    clear = math.exp(marginal - real_conditional)
    confident = float((logits.softmax(1).max(1).values > 0.9).float().mean())
    return f"| {name} | {score:.2f} | {marginal:.3f} | {conditional:.3f} | {balanced:.2f} | {clear:.2f} | {confident:.1%} |"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="+", help="training checkpoints (.ckpt) or pretrained generators")
    parser.add_argument("--dataset", default="mnist", choices=["mnist", "fashion_mnist"])
    parser.add_argument("--num-samples", type=int, default=5000)
    parser.add_argument("--num-real", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--center-crop", type=int, default=None, metavar="S",
                        help="score the central SxS pixels of each sample (generators trained on padded images)")
    args = parser.parse_args(argv)

    real, _ = load_split(args.dataset, "test", limit=args.num_real)
    real_logits = domain_logits(real, args.dataset)
    native = real.shape[-1]
    real_conditional = {native: inception_score_terms(real_logits)[1]}  # sample size -> the real images' E H(y|x)
    print(f"log K = {math.log(real_logits.shape[1]):.3f}; {args.num_samples} samples (seed {args.seed}) per source")
    print("| source | IS (1 split) | H(y) | E H(y|x) | IS if balanced | IS if as clear as real | max p(y|x) > 0.9 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(row(f"real test images ({len(real)})", real_logits, real_conditional[native]))
    for source in args.sources:
        images = samples(source, args.num_samples, args.seed)
        if args.center_crop is not None:
            images = crop_center(images, args.center_crop, source)
        size = images.shape[-1]
        if size not in real_conditional:
            resized_logits = domain_logits(resize_square(real, size), args.dataset)
            real_conditional[size] = inception_score_terms(resized_logits)[1]
            name = f"real test images ({len(real)}) via {size}x{size}"
            print(row(name, resized_logits, real_conditional[size]))
        print(row(source, domain_logits(images, args.dataset), real_conditional[size]))


if __name__ == "__main__":
    main()
