"""Adam implementations (for-loop, foreach, fused) and memory layout (contiguous, channels-last) on the DCGAN nets.

    python benchmarks/optimizers_and_layout.py --device cpu  [--sizes proxy paper] [--repeats 5]
    python benchmarks/optimizers_and_layout.py --device cuda --sizes paper

Issue 11 asks for fused/foreach optimizers and channels-last "where they help, measured, not assumed". This
script times, in one process and interleaved over ``--repeats`` rounds (median reported):

* ``Adam.step()`` on G's and D's parameters (with gradients from one backward pass) for each implementation
  PyTorch offers on the device: ``foreach=False`` (a Python loop over tensors), ``foreach=True`` (grouped
  kernels), ``fused=True`` (one kernel); the ratio is against what ``torch.optim.Adam()`` picks by default
  there (PyTorch's default: foreach on CUDA, the for-loop on the CPU).
* one DCGAN training step's compute (D forward/backward on real and fake, G forward/backward through D) with
  the nets and batch in ``torch.channels_last`` against the default contiguous layout.

Sizes as in ``benchmarks/throughput.py``: ``paper`` (base 64, batch 128) and ``proxy`` (base 8, batch 16).
On the CPU, set ``--threads`` (default 1); other jobs disturb wall time, so CPU time of this process is used.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
from torch import nn

from gan_zoo.losses import d_bce_loss, g_nonsaturating_loss
from gan_zoo.nets.dcgan import DCGANDiscriminator, DCGANGenerator

SIZES = {"paper": (64, 128), "proxy": (8, 16)}  # (base_channels, batch)
IMPLEMENTATIONS = {"default": {}, "for-loop": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}


def now(device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        return time.perf_counter()
    return time.process_time()


def build(base: int, device: torch.device, channels_last: bool = False) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    G = DCGANGenerator(latent_dim=100, image_shape=(1, 28, 28), base_channels=base).to(device)
    D = DCGANDiscriminator(image_shape=(1, 28, 28), base_channels=base).to(device)
    if channels_last:
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    return G, D


def train_step(G: nn.Module, D: nn.Module, real: torch.Tensor) -> None:
    """The compute of one DCGAN step without the optimizer: D's loss and backward, then G's through D."""
    z = torch.randn(real.shape[0], 100, device=real.device)
    with torch.no_grad():
        fake = G(z)
    d_bce_loss(D(real), D(fake)).backward()
    g_nonsaturating_loss(D(G(torch.randn_like(z)))).backward()


def time_optimizer(impl: str, base: int, batch: int, device: torch.device, steps: int) -> float | None:
    G, D = build(base, device)
    train_step(G, D, torch.rand(batch, 1, 28, 28, device=device) * 2 - 1)  # gradients to step on
    params = [p for net in (G, D) for p in net.parameters()]
    try:
        optimizer = torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999), **IMPLEMENTATIONS[impl])
        optimizer.step()
    except (RuntimeError, ValueError):  # not offered on this device / build
        return None
    start = now(device)
    for _ in range(steps):
        optimizer.step()
    return (now(device) - start) / steps


def time_layout(channels_last: bool, base: int, batch: int, device: torch.device, steps: int) -> float:
    G, D = build(base, device, channels_last)
    real = torch.rand(batch, 1, 28, 28, device=device) * 2 - 1
    if channels_last:
        real = real.contiguous(memory_format=torch.channels_last)
    train_step(G, D, real)  # warm-up
    start = now(device)
    for _ in range(steps):
        train_step(G, D, real)
    return (now(device) - start) / steps


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=["proxy", "paper"])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, device {device}" + (f", threads {args.threads}" if device.type == "cpu" else ""))
    print("command: python benchmarks/optimizers_and_layout.py " + " ".join(argv if argv is not None else sys.argv[1:]))
    for size in args.sizes:
        base, batch = SIZES[size]
        opt_times: dict[str, list[float]] = {impl: [] for impl in IMPLEMENTATIONS}
        layout_times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.repeats):
            for impl in IMPLEMENTATIONS:
                t = time_optimizer(impl, base, batch, device, args.steps)
                if t is not None:
                    opt_times[impl].append(t)
            for channels_last in (False, True):
                layout_times[channels_last].append(time_layout(channels_last, base, batch, device, max(1, args.steps // 5)))
        print(f"\n## {size} (base_channels {base}, batch {batch}): median of {args.repeats} interleaved rounds")
        print("| Adam on G + D parameters | ms/step | × default |")
        print("|---|---:|---:|")
        reference = statistics.median(opt_times["default"])
        for impl, values in opt_times.items():
            if values:
                print(f"| {impl} | {statistics.median(values) * 1e3:.3f} | {statistics.median(values) / reference:.2f} |")
            else:
                print(f"| {impl} | not offered on {device.type} | - |")
        print("| one training step's compute (no optimizer) | ms/step | × contiguous |")
        print("|---|---:|---:|")
        contiguous = statistics.median(layout_times[False])
        for channels_last, values in layout_times.items():
            name = "channels-last" if channels_last else "contiguous"
            print(f"| {name} | {statistics.median(values) * 1e3:.3f} | {statistics.median(values) / contiguous:.2f} |")


if __name__ == "__main__":
    main()
