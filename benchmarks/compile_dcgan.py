"""torch.compile on the DCGAN-MNIST nets: which settings compile and train, and what they buy.

    python benchmarks/compile_dcgan.py --device cuda                 # every variant, each in its own process
    python benchmarks/compile_dcgan.py --device cuda --variant layout_off --time

Issue 11 asks for opt-in compilation of the DCGAN-family nets "or a clear account of what blocks it (minimal
reproducer)". This file is both: each variant builds the paper-size nets (base 64, batch 128, MNIST 28x28),
compiles G and D with inductor and runs ``--steps`` DCGAN training steps (D on real and fake, then G through
D, fused Adam); it prints ``ok`` or the error's last line. Variants (one process each, so inductor's global
settings and caches do not leak between them):

* ``default``: ``torch.compile(net)``.
* ``layout_off``: the same with ``torch._inductor.config.layout_optimization = False`` (inductor otherwise
  switches convolutions to channels-last on its own, which is where ``convolution_backward``'s stride
  assertion comes from on torch 2.11).
* ``channels_last``: nets and images converted to ``torch.channels_last`` before compiling.
* ``d_only`` / ``g_only``: only one net compiled.
* ``cudagraphs``: ``layout_off`` with ``mode="reduce-overhead"`` (CUDA graphs), a
  ``torch.compiler.cudagraph_mark_step_begin()`` before each call.

With ``--time`` a variant that trains is also timed against the eager nets in the same process (wall ms per
step after ``--warmup`` steps, after ``torch.cuda.synchronize()``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import torch

from gan_zoo.losses import d_bce_loss, g_nonsaturating_loss
from gan_zoo.models.base import fused_adam
from gan_zoo.nets.dcgan import DCGANDiscriminator, DCGANGenerator

VARIANTS = ["default", "layout_off", "channels_last", "d_only", "g_only", "cudagraphs"]


def build(device: torch.device, layout: torch.memory_format = torch.contiguous_format):
    torch.manual_seed(0)
    G = DCGANGenerator(latent_dim=100, image_shape=(1, 28, 28), base_channels=64).to(device, memory_format=layout)
    D = DCGANDiscriminator(image_shape=(1, 28, 28), base_channels=64).to(device, memory_format=layout)
    return G, D


def train(G, D, device, steps: int, warmup: int, layout, batch: int = 128, mark_step: bool = False) -> float:
    """Runs warmup + steps DCGAN steps; returns wall seconds per timed step."""
    g_opt = fused_adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_opt = fused_adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = (torch.rand(batch, 1, 28, 28, device=device) * 2 - 1).contiguous(memory_format=layout)
    start = 0.0
    for i in range(warmup + steps):
        if i == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        if mark_step:
            torch.compiler.cudagraph_mark_step_begin()
        with torch.no_grad():
            fake = G(torch.randn(batch, 100, device=device))
        d_opt.zero_grad(set_to_none=True)
        if mark_step:
            torch.compiler.cudagraph_mark_step_begin()
        d_bce_loss(D(real), D(fake.clone())).backward()
        d_opt.step()
        D.requires_grad_(False)
        g_opt.zero_grad(set_to_none=True)
        if mark_step:
            torch.compiler.cudagraph_mark_step_begin()
        g_nonsaturating_loss(D(G(torch.randn(batch, 100, device=device)))).backward()
        g_opt.step()
        D.requires_grad_(True)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / max(steps, 1)


def run_variant(variant: str, device: torch.device, steps: int, warmup: int, backend: str, timed: bool) -> None:
    import torch._inductor.config as inductor_config

    layout = torch.channels_last if variant == "channels_last" else torch.contiguous_format
    if variant in ("layout_off", "cudagraphs"):
        inductor_config.layout_optimization = False
    mode = "reduce-overhead" if variant == "cudagraphs" else None
    G, D = build(device, layout)
    compiled_G = G if variant == "d_only" else torch.compile(G, backend=backend, mode=mode)
    compiled_D = D if variant == "g_only" else torch.compile(D, backend=backend, mode=mode)
    try:
        seconds = train(compiled_G, compiled_D, device, steps, warmup, layout, mark_step=variant == "cudagraphs")
    except Exception as error:  # noqa: BLE001  (report what blocks the variant, one line)
        last = [line for line in str(error).strip().splitlines() if line.strip()]
        print(f"{variant:<14} FAILED {type(error).__name__}: {last[0][:300] if last else ''}", flush=True)
        return
    line = f"{variant:<14} ok"
    if timed:
        eager = train(*build(device, layout), device, steps, warmup, layout)
        line += f"  compiled {seconds * 1e3:.2f} ms/step, eager {eager * 1e3:.2f} ms/step, x{seconds / eager:.2f}"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cuda")
    parser.add_argument("--variant", choices=VARIANTS, default=None, help="one variant in this process")
    parser.add_argument("--backend", default="inductor")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--time", action="store_true", help="time a variant that trains against eager")
    parser.add_argument("--parallel", action="store_true", help="run the variants' processes side by side")
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, device {torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'}",
          flush=True)
    if args.variant is not None:
        run_variant(args.variant, device, args.steps, args.warmup, args.backend, args.time)
        return
    base = [sys.executable, __file__, "--device", args.device, "--backend", args.backend,
            "--steps", str(args.steps), "--warmup", str(args.warmup)] + (["--time"] if args.time else [])
    variants = [v for v in VARIANTS if v != "cudagraphs" or device.type == "cuda"]
    procs = [subprocess.Popen(base + ["--variant", v], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for v in variants] if args.parallel else []
    for i, variant in enumerate(variants):
        proc = procs[i] if procs else subprocess.Popen(base + ["--variant", variant], stdout=subprocess.PIPE,
                                                        stderr=subprocess.STDOUT, text=True)
        output = proc.communicate()[0].splitlines()
        verdict = [line for line in output if line.startswith(variant)]
        print(verdict[-1] if verdict else f"{variant:<14} FAILED (exit {proc.returncode}): {output[-1] if output else ''}")


if __name__ == "__main__":
    main()
