"""ProGAN training throughput (images/s) and peak memory per stage: the ``ProGAN`` module in a Lightning
Trainer vs the same step written as a plain PyTorch loop, in the same process.

For every stage (4×4 … final) the step is timed in the middle of its fade-in (α = 0.5: both paths of G and
D run) and, for 4×4, in its stabilisation phase. One step = one critic update (WGAN-GP + drift, the
gradient penalty's double backward included) + one generator update + the EMA update, on batch ``b`` of
in-memory images at the final resolution (so data loading costs the same in both and almost nothing).
Each (stage, implementation) runs in a fresh subprocess so its memory is its own:

* CPU: peak resident memory added by the timed steps (``ru_maxrss`` after − before), MiB;
* CUDA: ``torch.cuda.max_memory_allocated`` during the steps, MiB.

    python benchmarks/progan.py [--resolution 32] [--channels 1] [--channel-base 256] [--max-channels 32]
                                [--batch 16] [--warmup 3] [--steps 20] [--device cpu] [--threads 1] [--stages 0 3]

Prints one row per stage: images/s for both, the ratio module/plain in time per image, and memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch


def build(args: argparse.Namespace):
    from gan_zoo import create_model

    torch.manual_seed(0)
    nets = {"image_shape": [args.channels, args.resolution, args.resolution], "channel_base": args.channel_base,
            "max_channels": args.max_channels}
    sizes = {4 * 2**s: args.batch for s in range(20) if 4 * 2**s <= args.resolution}
    # Phases far longer than the run, so the timed steps stay at the chosen (stage, α).
    return create_model(
        "progan", generator={"init_args": {"latent_dim": args.latent_dim, **nets}}, discriminator={"init_args": nets},
        fade_in_images=10**9, stabilize_images=10**9, batch_sizes=sizes,
    )


def images_for(model, stage: int, phase: str) -> int:
    start = model.schedule.stage_start(stage)
    return start + model.schedule.fade_in_images // 2 if phase == "fade_in" else start


def plain_steps(model, stage: int, alpha: float, data: torch.Tensor, args: argparse.Namespace) -> list[float]:
    """The floor: the ProGAN step by hand (same nets, losses, penalty, drift, EMA, Adam(1e-3, (0, 0.99)))."""
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    from gan_zoo.models.base import fused_adam
    from gan_zoo.nets.progan import real_images_at
    from gan_zoo.regularizers import drift_penalty, gradient_penalty

    G, D = model.generator.to(args.device), model.discriminator.to(args.device)
    ema = AveragedModel(G, multi_avg_fn=get_ema_multi_avg_fn(0.999), use_buffers=True)
    g_opt = fused_adam(G.parameters(), lr=1e-3, betas=(0.0, 0.99))  # the models' default Adam
    d_opt = fused_adam(D.parameters(), lr=1e-3, betas=(0.0, 0.99))  # the models' default Adam
    times = []
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        real = real_images_at(data[i % len(data)].to(args.device), stage, alpha)
        n = real.shape[0]
        with torch.no_grad():
            fake = G(torch.randn(n, G.latent_dim, device=args.device), stage, alpha)
        d_opt.zero_grad(set_to_none=True)
        real_scores, fake_scores = D(real, stage, alpha), D(fake, stage, alpha)
        loss = fake_scores.mean() - real_scores.mean() + 10 * gradient_penalty(lambda x: D(x, stage, alpha), real, fake)
        (loss + 0.001 * drift_penalty(real_scores)).backward()
        d_opt.step()
        for p in D.parameters():
            p.requires_grad_(False)
        g_opt.zero_grad(set_to_none=True)
        (-D(G(torch.randn(n, G.latent_dim, device=args.device), stage, alpha), stage, alpha).mean()).backward()
        g_opt.step()
        for p in D.parameters():
            p.requires_grad_(True)
        ema.update_parameters(G)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return times[args.warmup:]


def module_steps(model, data: torch.Tensor, args: argparse.Namespace) -> list[float]:
    import lightning as L
    from torch.utils.data import DataLoader, TensorDataset

    class Timer(L.Callback):
        def __init__(self) -> None:
            self.times: list[float] = []

        def on_train_batch_start(self, *a) -> None:
            self.t0 = time.perf_counter()

        def on_train_batch_end(self, *a) -> None:
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            self.times.append(time.perf_counter() - self.t0)

    timer = Timer()
    loader = DataLoader(TensorDataset(data.flatten(0, 1)), batch_size=args.batch, shuffle=False)
    trainer = L.Trainer(
        accelerator="gpu" if args.device.startswith("cuda") else "cpu", devices=1,
        max_steps=2 * (args.warmup + args.steps), logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=[timer],
        default_root_dir="/tmp/gan_zoo_progan_bench",
    )
    trainer.fit(model, loader)
    return timer.times[args.warmup:]


def one(args: argparse.Namespace) -> None:
    """Child process: time one (stage, phase, implementation); print a JSON line."""
    torch.set_num_threads(args.threads)
    model = build(args)
    n_batches = args.warmup + args.steps
    g = torch.Generator().manual_seed(0)
    data = torch.rand(n_batches, args.batch, args.channels, args.resolution, args.resolution, generator=g) * 2 - 1
    shown = images_for(model, args.stage, args.phase)
    model.load_state_dict({**model.state_dict(), "images_shown": torch.tensor(shown)})
    point = model.growth
    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if args.impl == "plain":
        times = plain_steps(model, point.stage, point.alpha, data, args)
    else:
        times = module_steps(model, data, args)
    if args.device.startswith("cuda"):
        memory = torch.cuda.max_memory_allocated() / 2**20
    else:
        memory = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024  # KiB -> MiB
    med = sorted(times)[len(times) // 2]
    print(json.dumps({"stage": point.stage, "alpha": point.alpha, "resolution": point.resolution,
                      "impl": args.impl, "images_per_s": args.batch / med, "median_step_s": med,
                      "memory_mib": memory}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--channel-base", type=int, default=256)
    p.add_argument("--max-channels", type=int, default=32)
    p.add_argument("--latent-dim", type=int, default=128)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--stages", type=int, nargs="+", default=None, help="only these stages (0 = 4x4)")
    p.add_argument("--stage", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--phase", default=None, help=argparse.SUPPRESS)
    p.add_argument("--impl", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.impl is not None:
        return one(args)

    from gan_zoo.nets.progan import stage_count

    runs = [(0, "stabilize")] + [(s, "fade_in") for s in range(1, stage_count(args.resolution))]
    runs = [r for r in runs if args.stages is None or r[0] in args.stages]
    mem_unit = "peak CUDA MiB" if args.device.startswith("cuda") else "added RSS MiB"
    print(f"ProGAN {args.channels}x{args.resolution}x{args.resolution}, channel_base {args.channel_base}, "
          f"max_channels {args.max_channels}, batch {args.batch}, {args.device}, {args.threads} thread(s); "
          f"median of {args.steps} steps after {args.warmup} warm-up")
    print(f"{'stage':>12} {'alpha':>5} | {'plain img/s':>11} {'module img/s':>12} {'module/plain':>12} | "
          f"{'plain ' + mem_unit:>20} {'module ' + mem_unit:>21}")
    base = [a for a in sys.argv[1:]]
    if args.stages is not None:  # the children get their one stage from --stage
        i = base.index("--stages")
        base = base[:i] + base[i + 1 + len(args.stages):]
    for stage, phase in runs:
        rows = {}
        for impl in ("plain", "module"):
            out = subprocess.run(
                [sys.executable, __file__, *base, "--stage", str(stage), "--phase", phase, "--impl", impl],
                capture_output=True, text=True, check=True,
            ).stdout
            rows[impl] = json.loads(out.strip().splitlines()[-1])
        pl, mo = rows["plain"], rows["module"]
        label = f"{pl['resolution']}x{pl['resolution']}"
        print(f"{label:>12} {pl['alpha']:>5.2f} | {pl['images_per_s']:>11.1f} {mo['images_per_s']:>12.1f} "
              f"{mo['median_step_s'] / pl['median_step_s']:>12.2f} | {pl['memory_mib']:>20.1f} {mo['memory_mib']:>21.1f}")


if __name__ == "__main__":
    main()
