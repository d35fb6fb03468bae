"""Subcommands beside LightningCLI's fit/validate/test: ``export`` and ``sample``.

    gan-zoo export --ckpt runs/.../last.ckpt --out pretrained/dcgan_digits
    gan-zoo sample --pretrained pretrained/dcgan_digits --num 64 --seed 0 --out grid.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gan_zoo.errors import GanZooError

__all__ = ["export_main", "sample_main"]


def export_main(argv: list[str]) -> None:
    """Turn a training checkpoint into a pretrained folder (config.yaml + generator.safetensors)."""
    from gan_zoo.hub import load_gan_checkpoint, save_pretrained

    parser = argparse.ArgumentParser(prog="gan-zoo export", description=export_main.__doc__)
    parser.add_argument("--ckpt", required=True, help="a .ckpt written by `gan-zoo fit`")
    parser.add_argument("--out", required=True, help="folder to write config.yaml and generator.safetensors into")
    parser.add_argument("--no-ema", action="store_true", help="export the raw generator even if an EMA is kept")
    args = parser.parse_args(argv)
    model = load_gan_checkpoint(args.ckpt)
    out = save_pretrained(model, args.out, use_ema=False if args.no_ema else None)
    print(f"wrote {out / 'config.yaml'} and {out / 'generator.safetensors'}")


def sample_main(argv: list[str]) -> None:
    """Draw a grid of samples from a pretrained folder or a checkpoint and save it as PNG."""
    import torch

    from gan_zoo.callbacks.sample_grid import save_png_atomic, to_grid
    from gan_zoo.hub import load_gan_checkpoint, load_pretrained

    parser = argparse.ArgumentParser(prog="gan-zoo sample", description=sample_main.__doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--pretrained", help="a folder made by `gan-zoo export` / save_pretrained")
    source.add_argument("--ckpt", help="a .ckpt written by `gan-zoo fit`")
    parser.add_argument("--num", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label", type=int, default=None, help="class to generate (conditional models)")
    parser.add_argument("--out", required=True, help="PNG file to write")
    args = parser.parse_args(argv)
    if args.num < 1:
        raise GanZooError(f"--num must be at least 1, got {args.num}")
    if not args.out.lower().endswith(".png"):
        raise GanZooError(f"--out must name a .png file, got {args.out!r}")
    labels = None if args.label is None else torch.full((args.num,), args.label, dtype=torch.long)
    model = load_pretrained(args.pretrained) if args.pretrained else load_gan_checkpoint(args.ckpt)
    try:
        samples = model.sample(args.num, labels=labels, seed=args.seed)  # one protocol for both sources
    except ValueError as err:  # labels for an unconditional model, a class out of range
        raise GanZooError(f"cannot sample: {err}") from err
    save_png_atomic(to_grid(samples), Path(args.out))
    print(f"wrote {args.out}")
