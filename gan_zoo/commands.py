"""Subcommands beside LightningCLI's fit/validate/test: ``export``, ``sample`` and ``pretrained``.

    gan-zoo export --ckpt runs/.../last.ckpt --out pretrained/dcgan_digits
    gan-zoo sample --pretrained dcgan-mnist --num 64 --seed 0 --out grid.png      # a name, a folder or hf://
    gan-zoo sample --pretrained cgan-mnist --labels 7 --interpolate --out strip.png
    gan-zoo sample --pretrained infogan-mnist --traverse --out traversal.png    # traversal_c0.png, _c1.png
    gan-zoo sample --pretrained dcgan-mnist --num 10000 --out samples.npz         # for other tools: uint8 NHWC
    gan-zoo sample --pretrained dcgan-mnist --num 10000 --out samples/            # one PNG per sample
    gan-zoo pretrained [NAME]                                                   # the shipped generators
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from gan_zoo.errors import ArgumentParser, GanZooError
from gan_zoo.outputs import check_output_file, check_writable

__all__ = ["export_main", "sample_main", "pretrained_main", "check_weights_pin", "check_device"]


def export_main(argv: list[str]) -> None:
    """Turn a training checkpoint into a pretrained folder (config.yaml + generator.safetensors)."""
    from gan_zoo.hub import load_gan_checkpoint, save_pretrained

    parser = ArgumentParser(prog="gan-zoo export", description=export_main.__doc__)
    parser.add_argument("--ckpt", required=True, help="a .ckpt written by `gan-zoo fit`")
    parser.add_argument("--out", required=True, help="folder to write config.yaml and generator.safetensors into")
    parser.add_argument("--no-ema", action="store_true", help="export the raw generator even if an EMA is kept")
    parser.add_argument("--dtype", choices=["float32", "float16"], default="float32",
                        help="storage precision of the weights (float16: half the size)")
    parser.add_argument("--overwrite", action="store_true", help="replace an export already in --out")
    args = parser.parse_args(argv)
    out = Path(args.out).expanduser()
    if out.exists() and not out.is_dir():
        raise GanZooError(f"--out {out} is a file; export writes a folder (config.yaml, generator.safetensors)")
    check_writable(out, "--out")  # before the checkpoint is read
    held = _held_export(out)
    if held == "other":
        raise GanZooError(
            f"--out {out} holds a config.yaml or generator.safetensors that gan-zoo export did not write (a run "
            "folder's config.yaml?); export into another folder, e.g. --out {out}/pretrained"
        )
    if held == "export" and not args.overwrite:
        raise GanZooError(f"--out {out} already holds an export; choose another folder or pass --overwrite to replace it")
    model = load_gan_checkpoint(args.ckpt)
    out = save_pretrained(model, out, use_ema=False if args.no_ema else None, dtype=args.dtype)
    print(f"wrote {out / 'config.yaml'} and {out / 'generator.safetensors'}")


def _held_export(folder: Path) -> str | None:
    """What ``folder`` holds under an export's file names: None (neither file), ``"export"`` (a config.yaml
    that ``save_pretrained`` wrote: it names the gan_zoo version and the generator; or the weights file alone,
    left by an interrupted export) or ``"other"`` (anything
    else by those names, such as a training run's config.yaml, which --overwrite must not replace)."""
    import yaml

    config, weights = folder / "config.yaml", folder / "generator.safetensors"
    if not config.exists():
        # weights alone: an export stopped between its two renames (save_pretrained writes the weights first)
        return "export" if weights.is_file() else None
    try:
        held = yaml.safe_load(config.read_text()) if config.is_file() else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        held = None
    is_export = isinstance(held, dict) and {"gan_zoo_version", "generator"} <= held.keys()
    return "export" if is_export else "other"


WEIGHTS_PIN_HELP = ("with --pretrained: the sha256 of the folder's generator.safetensors; required for an https:// "
                    "folder, checked on top of the registry's and the folder's own digests otherwise")


def check_weights_pin(args: argparse.Namespace) -> None:
    """--weights-sha256 pins a pretrained folder; a checkpoint has no weights file to pin."""
    if args.weights_sha256 is not None and args.ckpt:
        raise GanZooError("--weights-sha256 pins a --pretrained folder's weights; drop it with --ckpt")


def check_device(name: str, prog: str) -> None:
    """A one-line error for a --device that is no device or that this machine does not have."""
    import torch

    try:
        device = torch.device(name)
    except RuntimeError:
        raise GanZooError(f"--device {name!r} is not a device; use cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise GanZooError(f"--device {name}: this machine has no CUDA GPU; use --device cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise GanZooError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA GPU(s); use cuda:0 to "
                          f"cuda:{torch.cuda.device_count() - 1}")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise GanZooError(f"--device {name}: this machine has no MPS device; use --device cpu")
    if device.type not in ("cpu", "cuda", "mps"):
        raise GanZooError(f"--device {name}: {prog} runs on cpu, cuda or mps")


def _parse_labels(text: str) -> list[int]:
    try:
        labels = [int(v) for v in text.replace(",", " ").split()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"labels must be class indices like 3 or 0,1,2, got {text!r}") from err
    if not labels:
        raise argparse.ArgumentTypeError(f"labels must be class indices like 3 or 0,1,2, got {text!r}")
    return labels


def _with_suffix(path: Path, suffix: str) -> Path:
    return path.with_name(f"{path.stem}{suffix}{path.suffix}")


def sample_main(argv: list[str]) -> None:
    """Draw samples from a pretrained generator (name, folder, hf://) or a checkpoint and save them as PNG.

    A grid by default (conditional models: one class per column unless --labels says otherwise);
    --interpolate: one latent path per row (spherical for Gaussian z); --traverse: InfoGAN's code traversals,
    one PNG per continuous code (``<out>_c<j>.png``) unless --code picks one. --out FILE.npz or --out FOLDER/:
    the samples themselves, for other tools (FID/IS implementations, classifiers): drawn as ``gan-zoo evaluate``
    draws them (same --seed and --batch-size: the same images), 8-bit as in the PNGs.
    """
    import torch

    from gan_zoo.callbacks.sample_grid import save_png_atomic, to_grid
    from gan_zoo.hub import load_gan_checkpoint, load_pretrained
    from gan_zoo.metrics.driver import crop_center

    parser = ArgumentParser(prog="gan-zoo sample", description=sample_main.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--pretrained", help="a name from `gan-zoo pretrained`, a folder made by `gan-zoo export`, "
                                             "or hf://owner/repo/folder")
    source.add_argument("--ckpt", help="a .ckpt written by `gan-zoo fit`")
    parser.add_argument("--weights-sha256", default=None, help=WEIGHTS_PIN_HELP)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--interpolate", action="store_true", help="latent interpolation strip: --num rows x --steps")
    mode.add_argument("--traverse", action="store_true", help="InfoGAN: sweep each continuous code (rows: c_cat)")
    parser.add_argument("--num", type=int, default=None,
                        help="samples in the grid (default 64), or rows of the interpolation strip (default 8)")
    parser.add_argument("--steps", type=int, default=None, help="columns of a strip / traversal (default 10 / 9)")
    parser.add_argument("--span", type=float, default=2.0, help="--traverse sweeps each code over [-span, span]")
    parser.add_argument("--code", type=int, default=None, help="--traverse only this continuous code")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--labels", type=_parse_labels, default=None,
                        help="conditional models: one class for every sample (3), or a list cycled over the samples "
                             "(grid) / the rows (interpolation): 0,1,2")
    parser.add_argument("--label", type=int, default=None, help=argparse.SUPPRESS)  # the earlier spelling of --labels K
    parser.add_argument("--device", default="cpu", help="where the generator runs: cpu, cuda, cuda:1, mps (the "
                                                         "seeded latents are drawn on the CPU: the same on any device)")
    parser.add_argument("--batch-size", type=int, default=500,
                        help="--out .npz / FOLDER/: samples per batch (batch i uses seed + i, as gan-zoo evaluate)")
    parser.add_argument("--center-crop", type=int, default=None, metavar="S",
                        help="keep the central SxS pixels of each sample: a generator trained on padded images "
                             "(data image_fit: pad), e.g. 28 for MNIST padded to 32, as gan-zoo evaluate --center-crop")
    parser.add_argument("--out", required=True,
                        help="a PNG grid / strip; FILE.npz: the samples as uint8 (N, H, W, C) 'arr_0' (+ 'labels'); "
                             "FOLDER/ (trailing slash): one PNG per sample (+ labels.txt)")
    args = parser.parse_args(argv)
    if args.label is not None:
        if args.labels is not None:
            raise GanZooError("give --labels only (--label is its old one-class spelling)")
        args.labels = [args.label]
    if args.num is not None and args.num < 1:
        raise GanZooError(f"--num must be at least 1, got {args.num}")
    if args.steps is not None and args.steps < 2:
        raise GanZooError(f"--steps must be at least 2, got {args.steps}")
    as_folder = args.out.endswith(("/", os.sep))  # a trailing separator: one PNG per sample
    as_files = as_folder or args.out.lower().endswith(".npz")
    if not (as_files or args.out.lower().endswith(".png")):
        raise GanZooError(f"--out must name a .png grid, a .npz file or a FOLDER/ of sample PNGs, got {args.out!r}")
    if as_files and (args.interpolate or args.traverse):
        raise GanZooError("--interpolate / --traverse draw one PNG; give --out a .png file")
    if as_files and (args.steps is not None or args.code is not None):
        raise GanZooError("--steps / --code shape strips and traversals; drop them when writing sample files")
    if args.batch_size < 1:
        raise GanZooError(f"--batch-size must be at least 1, got {args.batch_size}")
    check_weights_pin(args)
    check_device(args.device, "gan-zoo sample")
    out = check_sample_files_target(args.out, as_folder) if as_files else check_output_file(args.out, "--out")
    if args.ckpt:
        model = load_gan_checkpoint(args.ckpt, map_location=args.device)
        sample = model.sample  # GANModule.sample: the protocol a pretrained generator copies
        generator = checkpoint_generator(model, args.ckpt)
    else:
        generator = load_pretrained(args.pretrained, map_location=args.device, weights_sha256=args.weights_sha256)
        sample = generator.sample
    num_classes = generator.num_classes
    source_name = args.pretrained or args.ckpt

    def crop(images: torch.Tensor) -> torch.Tensor:  # (..., C, H, W): every output below goes through here
        if args.center_crop is None:
            return images
        if images.dim() == 2:
            raise GanZooError(f"{source_name} draws 2-D points, not images: drop --center-crop")
        return crop_center(images, args.center_crop, source_name)

    def label_tensor(n: int) -> torch.Tensor | None:
        if args.labels is None:
            return None
        if num_classes is None:
            raise GanZooError(f"{args.pretrained or args.ckpt} is unconditional: drop --labels")
        return torch.tensor(args.labels, dtype=torch.long).repeat(-(-n // len(args.labels)))[:n]

    try:
        if as_files:
            n = args.num or 64
            write_sample_files(model if args.ckpt else generator, out, n, args.batch_size, args.seed, label_tensor(n),
                               as_folder, crop)
            print(f"wrote {n} samples to {out}")
            return
        if args.traverse:
            from gan_zoo.latent_paths import has_codes

            if not has_codes(generator.generator):
                raise GanZooError(f"{args.pretrained or args.ckpt} has no latent codes to traverse (InfoGAN has); "
                                  "use --interpolate")
            if args.labels is not None:
                raise GanZooError("--traverse shows every categorical code value as a row; drop --labels")
            steps = args.steps or 9
            codes = range(generator.generator.num_continuous) if args.code is None else [args.code]
            paths = {code: out if args.code is not None else _with_suffix(out, f"_c{code}") for code in codes}
            for path in paths.values():
                check_output_file(path, "--out")  # every file, before the first is drawn
            values = torch.linspace(-args.span, args.span, steps)
            for code, path in paths.items():
                images = crop(generator.traverse(code, values, seed=args.seed))  # (K, V, C, H, W)
                save_png_atomic(to_grid(images.flatten(0, 1), nrow=steps), path)
                print(f"wrote {path}")
            return
        if args.interpolate:
            rows, steps = args.num or 8, args.steps or 10
            images = crop(generator.interpolate(rows, steps, labels=label_tensor(rows), seed=args.seed))  # (R, S, C, H, W)
            save_png_atomic(to_grid(images.flatten(0, 1), nrow=steps), out)
        else:
            n = args.num or 64
            samples = crop(sample(n, labels=label_tensor(n), seed=args.seed))  # one protocol for every source
            # balanced labels run 0..K-1 along a row: with K columns each column is one class
            nrow = num_classes if num_classes is not None and args.labels is None and n >= num_classes else None
            save_png_atomic(to_grid(samples, nrow=nrow), out)
    except ValueError as err:  # labels out of range, a code that does not exist
        raise GanZooError(f"cannot sample: {err}") from err
    print(f"wrote {out}")


def check_sample_files_target(out: str, as_folder: bool) -> Path:
    """Where ``gan-zoo sample`` may write sample files: a new ``.npz`` file, or a folder that is absent or empty
    (nothing is overwritten: a folder of samples is not merged with another)."""
    path = Path(out).expanduser()
    if not as_folder:
        if path.exists():
            raise GanZooError(f"--out {path} exists; remove it or name another .npz file")
        return check_output_file(path, "--out")
    if path.exists() and path.resolve() == Path.cwd().resolve():
        raise GanZooError(f"--out {out} is the current folder; name a new folder for the samples, e.g. samples/")
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise GanZooError(f"--out {path} exists and is not an empty folder; name a new folder for the samples")
    check_writable(path, "--out")
    return path


def quantize_images(samples: "torch.Tensor") -> "torch.Tensor":
    """(B, C, H, W) in [-1, 1] -> (B, H, W, C) uint8: the PNGs' 8 bits (``torchvision.utils.save_image``:
    ``(x + 1) / 2 * 255 + 0.5``, clamped, truncated), so the files hold what the sample grids show."""
    import torch

    unit = ((samples.detach().float().cpu().clamp(-1, 1) + 1) / 2)
    return unit.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def write_sample_files(
    source, out: Path, num: int, batch_size: int, seed: int, labels=None, as_folder: bool = False, crop=None
) -> None:
    """``num`` samples of ``source`` (a GANModule or a PretrainedGenerator) drawn as ``gan-zoo evaluate`` draws
    them (``sample_batches``: batch i from seed + i, balanced labels unless ``labels``), written to ``out``:

    * a file (``X.npz``): ``arr_0`` uint8 (N, H, W, C) (the layout FID tools read from TensorFlow-style ``.npz``
      batches), ``labels`` int64 (N,) for conditional generators (InfoGAN: the categorical code's values);
      2-D toy samples as float32 (N, 2) points.
    * a folder (``as_folder``; ``FOLDER/`` on the command line): ``000000.png``, ``000001.png``, ... (grayscale
      or RGB), and ``labels.txt`` (one per line) for conditional generators.

    ``crop`` (a function of one batch, e.g. ``gan-zoo sample --center-crop``'s) is applied to each batch before it is written.

    Written under a temporary name and renamed when complete: an interrupted run leaves nothing that looks done.
    """
    import shutil

    import numpy as np
    import torch
    from PIL import Image

    from gan_zoo.metrics.driver import sample_batches
    from gan_zoo.outputs import temporary_beside, write_atomic

    batches, labels, _ = sample_batches(source, num, batch_size, seed, labels=labels)  # labels: written beside
    if crop is not None:  # lazily, as they are drawn: the files hold one batch of float samples at a time
        batches = (crop(b) for b in batches)
    conditional = labels is not None
    if not as_folder:
        chunks = [b.cpu() if b.dim() == 2 else quantize_images(b) for b in batches]  # float32 points / uint8 images
        arrays = {"arr_0": torch.cat(chunks).numpy()}
        if conditional:
            arrays["labels"] = labels.numpy()

        def save(tmp: Path) -> None:
            with open(tmp, "wb") as f:  # a file object: np.savez would add ".npz" to the temporary's name
                np.savez(f, **arrays)

        write_atomic(out, save)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_beside(out)  # this run's own folder, with the umask's permissions
    tmp.mkdir()
    try:
        index = 0
        for batch in batches:
            if batch.dim() == 2:
                raise GanZooError("2-D toy samples are points, not images; write them with --out FILE.npz")
            for image in quantize_images(batch).numpy():
                Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(tmp / f"{index:06d}.png")
                index += 1
        if conditional:
            (tmp / "labels.txt").write_text("".join(f"{int(y)}\n" for y in labels))
        try:
            if out.exists():
                out.rmdir()  # empty (checked before sampling): the renamed folder takes its place
            os.replace(tmp, out)
        except OSError:  # another run filled the folder meanwhile: keep its files, drop ours
            raise GanZooError(f"--out {out} was written by another run while these samples were drawn; "
                              "name a new folder") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def checkpoint_generator(model, name: str):
    """A ``PretrainedGenerator`` over a training checkpoint's generator (the EMA one when kept, as after
    export), drawing as the module does: ``model.generate(z, labels, net=...)``, so a ProGAN that is still
    growing shows its current stage and fade-in (the net alone would draw the final, untrained stage)."""
    from torch import nn

    from gan_zoo.hub import PretrainedGenerator

    net = model.generator_ema.module if model.generator_ema is not None else model.generator

    class DrawnAsTrained(nn.Module):
        """``net``'s attributes (latent size, codes, classes) with the module's way of drawing."""

        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, z, labels=None):
            return model.generate(z, labels, net=self.net)

        def __getattr__(self, attr: str):
            try:
                return super().__getattr__(attr)
            except AttributeError:
                return getattr(self.net, attr)

    return PretrainedGenerator(DrawnAsTrained(), model.hparams.get("latent_prior", "normal"), {}, name).eval()


def pretrained_main(argv: list[str]) -> None:
    """List the shipped pretrained generators (gan_zoo.list_pretrained()) with their measured metrics."""
    from gan_zoo.zoo import format_pretrained_table, get_pretrained, list_pretrained, not_shipped

    parser = ArgumentParser(prog="gan-zoo pretrained", description=pretrained_main.__doc__)
    parser.add_argument("name", nargs="?", help="show one entry in full (training command, protocol, metrics)")
    args = parser.parse_args(argv)
    if args.name:
        import dataclasses

        import yaml

        entry = get_pretrained(args.name)
        print(yaml.safe_dump({entry.name: {k: v for k, v in dataclasses.asdict(entry).items() if k != "name"}},
                             sort_keys=False, default_flow_style=None, width=110))
        return
    print(format_pretrained_table(list_pretrained(), not_shipped()))
