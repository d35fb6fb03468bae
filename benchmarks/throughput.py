"""Training throughput of the zoo's loop against a plain PyTorch loop, in one process.

    python benchmarks/throughput.py --device cpu --model dcgan            # both sizes, 1 thread
    python benchmarks/throughput.py --device cuda --model wgan_gp --sizes paper

For each size it prints ms/step, images/s and the ratio to the plain loop for:

1. ``plain``: the floor. The same nets, optimizers and losses written as a hand loop: data already on
   the device (a uint8 tensor, batches gathered by a permutation and scaled to [-1, 1] there), noise
   drawn on the device, D's ``requires_grad`` switched off during the G step as ``GANModule.trainable_only_by`` does.
2. ``bare``: the model's ``GANModule`` in a ``Trainer`` with no logger, no progress bar, no callbacks,
   fed the same device-resident batches.
3. ``as fit``: the model and the ``Trainer`` exactly as ``gan-zoo fit --config <config>`` builds them
   (``cli_main(run=False)``: its logger, progress bar, sample grids, checkpointing, model summary), fed the
   same device-resident batches. The gap from ``bare`` is the cost of logging and callbacks.
4. ``end to end``: ``gan-zoo fit --config <config>`` on its real data path (the data module the config names,
   with its default settings: MNIST from ``$GAN_ZOO_DATA``). ms/step is the steady state after warm-up;
   ``fit wall`` is the whole ``trainer.fit`` call (data setup and start-up included).
5. ``compiled`` (opt-in, ``--sections ... compiled``): section 3 with ``--compile.enabled true`` (``CompileNets``,
   backend ``--compile-backend``). Compilation happens in the first steps: give it a ``--warmup`` (or
   ``--proxy-warmup``) that covers them, or the timed steps include it.

A "step" is one training batch: one D update, plus a G update when it is G's turn (every batch for DCGAN,
every 5th for WGAN-GP's n_critic = 5). Sizes:

* ``paper``: the config's nets and batch (DCGAN-MNIST: base 64, batch 128; WGAN-GP-MNIST: base 64, batch 50);
* ``proxy``: the tiny-net CPU proxy (base_channels 8, batch 16), where per-step framework cost weighs as
  much as it does on a GPU.

Runs of the four sections are interleaved ``--repeats`` times and the median is reported with the
spread of the runs, since other jobs on a shared machine shift timings. On CUDA the clock is read after
``torch.cuda.synchronize()``. Set ``--threads`` (default 1) for CPU runs.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import lightning as L
import torch
from torch import Tensor

REPO = Path(__file__).resolve().parents[1]

MODELS = {  # config, and what the plain loop needs to mirror the model's algorithm box
    "dcgan": {"config": "configs/dcgan/mnist.yaml", "n_critic": 1},
    "wgan_gp": {"config": "configs/wgan_gp/mnist.yaml", "n_critic": 5, "gp_weight": 10.0},
}
SIZES = {"paper": None, "proxy": {"base_channels": 8, "batch_size": 16}}
IMAGE_SHAPE = (1, 28, 28)  # MNIST


@dataclass
class Plan:
    model: str
    size: str
    device: torch.device
    warmup: int
    steps: int
    root: Path
    extra: tuple[str, ...] = ()  # more `gan-zoo fit` arguments for every section that builds the CLI

    @property
    def batches(self) -> int:
        return self.warmup + self.steps


# ---------------------------------------------------------------------------------------------- building
def cli_args(plan: Plan, extra: list[str] | None = None) -> list[str]:
    """The arguments of ``gan-zoo fit --config <config>`` for this plan, limited to ``plan.batches`` batches."""
    args = [
        "--config", str(REPO / MODELS[plan.model]["config"]),
        "--seed_everything", "0",
        "--trainer.accelerator", "gpu" if plan.device.type == "cuda" else "cpu",
        "--trainer.devices", "1",
        "--trainer.max_epochs", "1",
        "--trainer.max_steps", "-1",
        "--trainer.limit_train_batches", str(plan.batches),
        "--trainer.default_root_dir", str(plan.root),
    ]
    sizes = SIZES[plan.size]
    if sizes is not None:
        for net in ("generator", "discriminator"):
            args += [f"--model.init_args.{net}.init_args.base_channels", str(sizes["base_channels"])]
        args += ["--data.init_args.batch_size", str(sizes["batch_size"])]
    return args + list(plan.extra) + (extra or [])


def build_cli(plan: Plan, extra: list[str] | None = None):
    from gan_zoo.cli import cli_main

    with contextlib.redirect_stdout(io.StringIO()):
        return cli_main(cli_args(plan, extra), run=False)


def batch_size_of(cli) -> int:
    return int(cli.datamodule.batch_size)


class DeviceBatches:
    """``n`` batches gathered from a device-resident uint8 tensor by a fixed permutation and scaled to
    [-1, 1] on the device: what every loop of sections 1-3 is fed (x (B, 1, 28, 28), y (B,))."""

    def __init__(self, n: int, batch_size: int, device: torch.device, seed: int = 0) -> None:
        rng = torch.Generator().manual_seed(seed)
        self.images = torch.randint(0, 256, (n * batch_size, *IMAGE_SHAPE), generator=rng, dtype=torch.uint8).to(device)
        self.labels = torch.randint(0, 10, (n * batch_size,), generator=rng).to(device)
        self.order = torch.randperm(n * batch_size, generator=rng).to(device)
        self.n, self.batch_size = n, batch_size

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        for i in range(self.n):
            idx = self.order[i * self.batch_size : (i + 1) * self.batch_size]
            yield self.images[idx].float().div_(127.5).sub_(1.0), self.labels[idx]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def clock(device: torch.device) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process), after the device has finished its queued work."""
    sync(device)
    return time.perf_counter(), time.process_time()


@dataclass
class Timing:
    wall: float  # seconds per step
    cpu: float  # CPU seconds of this process per step

    @classmethod
    def between(cls, start: tuple[float, float], end: tuple[float, float], steps: int) -> "Timing":
        return cls((end[0] - start[0]) / steps, (end[1] - start[1]) / steps)


# ---------------------------------------------------------------------------------------------- sections
def plain_loop(plan: Plan) -> Timing:
    """Section 1: seconds per step of the hand-written loop."""
    from gan_zoo.losses import d_bce_loss, d_wasserstein_loss, g_nonsaturating_loss, g_wasserstein_loss
    from gan_zoo.regularizers import gradient_penalty

    cli = build_cli(plan)
    model = cli.model.to(plan.device)
    G, D = model.generator, model.discriminator
    g_opt, d_opt = model.configure_optimizers()  # the model's own (G, D) optimizers and settings
    spec = MODELS[plan.model]
    latent_dim = G.latent_dim
    wgan = plan.model == "wgan_gp"
    data = DeviceBatches(plan.batches, batch_size_of(cli), plan.device)
    start = (0.0, 0.0)
    for i, (real, _) in enumerate(data):
        if i == plan.warmup:
            start = clock(plan.device)
        n = real.shape[0]
        with torch.no_grad():
            fake = G(torch.randn(n, latent_dim, device=plan.device))
        d_opt.zero_grad(set_to_none=True)
        if wgan:
            loss = d_wasserstein_loss(D(real), D(fake)) + spec["gp_weight"] * gradient_penalty(D, real, fake)
        else:
            loss = d_bce_loss(D(real), D(fake))
        loss.backward()
        d_opt.step()
        if (i + 1) % spec["n_critic"] == 0:
            D.requires_grad_(False)  # no gradients into D during the G step
            g_opt.zero_grad(set_to_none=True)
            scores = D(G(torch.randn(n, latent_dim, device=plan.device)))
            (g_wasserstein_loss(scores) if wgan else g_nonsaturating_loss(scores)).backward()
            g_opt.step()
            D.requires_grad_(True)
    return Timing.between(start, clock(plan.device), plan.steps)


class StepTimer(L.Callback):
    """Reads the clock at the start of batch ``warmup`` and at the end of the last batch."""

    def __init__(self, warmup: int, batches: int, device: torch.device) -> None:
        self.warmup, self.batches, self.device = warmup, batches, device
        self.start = self.end = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == self.warmup:
            self.start = clock(self.device)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if batch_idx == self.batches - 1:
            self.end = clock(self.device)

    def timing(self) -> Timing:
        if self.start is None or self.end is None:
            raise RuntimeError("the run ended before the timed batches; raise --steps or check the data size")
        return Timing.between(self.start, self.end, self.batches - self.warmup)


def bare_module(plan: Plan) -> Timing:
    """Section 2: the GANModule alone in a Trainer."""
    cli = build_cli(plan)
    timer = StepTimer(plan.warmup, plan.batches, plan.device)
    trainer = L.Trainer(
        accelerator="gpu" if plan.device.type == "cuda" else "cpu", devices=1, max_epochs=1,
        limit_train_batches=plan.batches, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, callbacks=[timer], default_root_dir=str(plan.root),
    )
    trainer.fit(cli.model, train_dataloaders=DeviceBatches(plan.batches, batch_size_of(cli), plan.device))
    return timer.timing()


def as_fit(plan: Plan) -> Timing:
    """Section 3: the model and Trainer that ``gan-zoo fit`` builds, fed device-resident batches."""
    cli = build_cli(plan)
    timer = StepTimer(plan.warmup, plan.batches, plan.device)
    cli.trainer.callbacks.append(timer)
    cli.trainer.fit(cli.model, train_dataloaders=DeviceBatches(plan.batches, batch_size_of(cli), plan.device))
    return timer.timing()


def end_to_end(plan: Plan) -> tuple[Timing, float]:
    """Section 4: ``gan-zoo fit --config <config>`` on the real data. Returns (timing, fit wall seconds)."""
    cli = build_cli(plan)
    timer = StepTimer(plan.warmup, plan.batches, plan.device)
    cli.trainer.callbacks.append(timer)
    start = time.perf_counter()
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    wall = time.perf_counter() - start
    return timer.timing(), wall


SECTIONS: dict[str, tuple[str, Callable]] = {
    "plain": ("plain PyTorch loop (data on device)", plain_loop),
    "bare": ("GANModule in a bare Trainer", bare_module),
    "as_fit": ("GANModule as gan-zoo fit runs it", as_fit),
    "end_to_end": ("gan-zoo fit end to end (real data)", end_to_end),
    "compiled": ("as gan-zoo fit runs it, --compile.enabled", as_fit),  # run_size adds the --compile.* arguments
}
DEFAULT_SECTIONS = ["plain", "bare", "as_fit", "end_to_end"]


# ---------------------------------------------------------------------------------------------- report
@contextlib.contextmanager
def quiet(verbose: bool) -> Iterator[None]:
    """Send the runs' stdout/stderr (progress bars, model summaries) to /dev/null unless ``verbose``."""
    if verbose:
        yield
        return
    # Lightning's loggers hold the process's original stderr, which redirect_stderr does not replace: raise
    # their level for the run instead (model summaries, "`Trainer.fit` stopped", CompileNets' line).
    loggers = [logging.getLogger(name) for name in ("lightning.pytorch", "lightning.fabric", "gan_zoo")]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.WARNING)
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def run_size(args: argparse.Namespace, size: str) -> None:
    device = torch.device(args.device)
    warmup, steps = (args.proxy_warmup, args.proxy_steps) if size == "proxy" else (args.warmup, args.steps)
    times: dict[str, list[Timing]] = {s: [] for s in args.sections}
    walls: list[float] = []
    batch_size = None
    with tempfile.TemporaryDirectory(prefix="gan_zoo_throughput_") as tmp:
        for r in range(args.repeats):  # interleaved, so load drifts on a shared machine hit every section alike
            for section in args.sections:
                extra = ("--compile.enabled", "true", "--compile.backend", args.compile_backend) if section == "compiled" else ()
                plan = Plan(args.model, size, device, warmup, steps, Path(tmp) / f"{section}_{r}", extra)
                torch.manual_seed(0)
                with quiet(args.verbose):
                    result = SECTIONS[section][1](plan)
                    if batch_size is None:
                        batch_size = batch_size_of(build_cli(plan))
                if section == "end_to_end":
                    result, wall = result
                    walls.append(wall)
                times[section].append(result)
    sizes = SIZES[size]
    what = "config's nets and batch" if sizes is None else f"base_channels {sizes['base_channels']}"
    cpu = device.type == "cpu"
    print(f"\n## {args.model} / {size} ({what}, batch {batch_size}), device={device}"
          f"{f', threads={torch.get_num_threads()}' if cpu else ''}, "
          f"warmup {warmup} + {steps} timed steps, {args.repeats} interleaved repeats: median [min-max] over repeats")
    if cpu:
        print("ratios and images/s from CPU time (this process's, all threads), which other jobs on a shared "
              "machine disturb far less than wall time")
    key = (lambda t: t.cpu) if cpu else (lambda t: t.wall)
    print(f"| {'section':<40} | {'wall ms/step':<22} | {'CPU ms/step':<22} | {'images/s':>9} | {'× plain':>7} |")
    print(f"|{'-' * 42}|{'-' * 24}|{'-' * 24}|{'-' * 11}|{'-' * 9}|")
    floor = statistics.median(key(t) for t in times["plain"]) if "plain" in times else None

    def cell(values: list[float]) -> str:
        med = statistics.median(values)
        return f"{med * 1e3:7.2f} [{min(values) * 1e3:.2f}-{max(values) * 1e3:.2f}]"

    for section, values in times.items():
        med = statistics.median(key(t) for t in values)
        ratio = f"{med / floor:.2f}" if floor else "-"
        cpu_cell = cell([t.cpu for t in values]) if cpu else "-"
        print(f"| {SECTIONS[section][0]:<40} | {cell([t.wall for t in values]):<22} | {cpu_cell:<22} | "
              f"{batch_size / med:9.0f} | {ratio:>7} |")
    if walls:
        print(f"end to end: whole `trainer.fit` call {statistics.median(walls):.1f} s wall median "
              f"for {warmup + steps} batches (data setup and start-up included)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--model", choices=list(MODELS), default="dcgan")
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=None,
                        help="default: paper and proxy on the CPU, paper on CUDA")
    parser.add_argument("--sections", nargs="+", choices=list(SECTIONS), default=DEFAULT_SECTIONS)
    parser.add_argument("--compile-backend", default="inductor", help="torch.compile backend of the `compiled` section")
    parser.add_argument("--warmup", type=int, default=None, help="paper size (default: 3 on the CPU, 20 on CUDA)")
    parser.add_argument("--steps", type=int, default=None, help="paper size (default: 10 on the CPU, 200 on CUDA)")
    parser.add_argument("--proxy-warmup", type=int, default=10)
    parser.add_argument("--proxy-steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--verbose", action="store_true", help="show the runs' output (progress bars still render when hidden)")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda but torch.cuda.is_available() is False")
    cuda = args.device == "cuda"
    args.warmup = args.warmup if args.warmup is not None else (20 if cuda else 3)
    args.steps = args.steps if args.steps is not None else (200 if cuda else 10)
    args.sizes = args.sizes or (["paper"] if cuda else ["paper", "proxy"])
    torch.set_num_threads(args.threads)
    os.environ.setdefault("GAN_ZOO_DATA", str(REPO / "data"))
    import gan_zoo

    print(f"gan_zoo from {Path(gan_zoo.__file__).parent}, torch {torch.__version__}, lightning {L.__version__}")
    print("command: python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])]))
    for size in args.sizes:
        run_size(args, size)


if __name__ == "__main__":
    main()
