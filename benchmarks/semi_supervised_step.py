"""Semi-supervised GAN (Salimans et al. 2016, Sec. 5): D's loss from one forward pass over the three batches
(labelled, unlabelled, generated) against three passes, in the same process.

Both variants run the paper's MNIST nets (``SemiSupervisedMLPGenerator`` 100-500-500-784,
``SemiSupervisedMLPDiscriminator`` 784-1000-500-250-250-250-10), batches of 100 + 100 + 100, Adam(3e-3, β1 0.5,
ε 1e-4) and a full step: D update on L_supervised + ½ L_unsupervised, then a feature-matching G update. The
only difference is how D's logits for the D update are computed:

    three: l_lab, l_unl, l_fake = D(x_lab), D(x_unl), D(x_fake)          (three (100, 784) matrix chains)
    one:   l_lab, l_unl, l_fake = D(cat[x_lab, x_unl, x_fake]).split(100)  (one (300, 784) chain; the model's way)

D has no batch-dependent layer (weight norm, per-element Gaussian noise), so the two are equal in
distribution; ``tests/test_semi_supervised.py`` checks that the model's loss equals the three-pass loss
with the noise off. Prints ms per step for each and the ratio three / one.

    python benchmarks/semi_supervised_step.py [--steps 40] [--warmup 5] [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from gan_zoo.losses import feature_matching_loss, semi_supervised_losses
from gan_zoo.nets import SemiSupervisedMLPDiscriminator, SemiSupervisedMLPGenerator


def time_steps(one_pass: bool, steps: int, warmup: int, batch: int = 100) -> float:
    """Seconds per full (D + G) step after ``warmup`` steps."""
    torch.manual_seed(0)
    G, D = SemiSupervisedMLPGenerator(), SemiSupervisedMLPDiscriminator()
    d_opt = torch.optim.Adam(D.parameters(), lr=3e-3, betas=(0.5, 0.999), eps=1e-4)
    g_opt = torch.optim.Adam(G.parameters(), lr=3e-3, betas=(0.5, 0.999), eps=1e-4)
    labelled, unlabelled = torch.rand(2, batch, 1, 28, 28) * 2 - 1  # MNIST-shaped, in [-1, 1]
    labels = torch.randint(10, (batch,))
    start = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            start = time.perf_counter()
        with torch.no_grad():
            fake = G(torch.rand(batch, 100) * 2 - 1)
        if one_pass:
            l_lab, l_unl, l_fake = D(torch.cat([labelled, unlabelled, fake])).split(batch)
        else:
            l_lab, l_unl, l_fake = D(labelled), D(unlabelled), D(fake)
        supervised, unsupervised = semi_supervised_losses(l_lab, labels, l_unl, l_fake)
        d_opt.zero_grad(set_to_none=True)
        (supervised + 0.5 * unsupervised).backward()
        d_opt.step()
        for p in D.parameters():  # no grads into D during the G step
            p.requires_grad_(False)
        with torch.no_grad():
            real_features = D.features(unlabelled)
        g_loss = feature_matching_loss(real_features, D.features(G(torch.rand(batch, 100) * 2 - 1)), reduction="mean")
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
        for p in D.parameters():
            p.requires_grad_(True)
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    variants = {"three D passes": False, "one D pass": True}  # label -> one_pass
    times: dict[str, list[float]] = {label: [] for label in variants}
    for _ in range(args.repeats):  # interleaved, so drift on a shared machine hits both
        for label, one_pass in variants.items():
            times[label].append(time_steps(one_pass, args.steps, args.warmup))
    median = {label: statistics.median(values) for label, values in times.items()}
    print(f"threads {args.threads}, {args.steps} steps x {args.repeats} repeats (median)")
    for label, seconds in median.items():
        print(f"{label + ':':<16}{seconds * 1e3:.1f} ms/step")
    print(f"ratio three / one: {median['three D passes'] / median['one D pass']:.2f}")

if __name__ == "__main__":
    main()
