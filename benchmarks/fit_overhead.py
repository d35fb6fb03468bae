"""Where ``gan-zoo fit``'s per-step cost above the bare Trainer goes: the fit Trainer with one piece removed at a time.

    python benchmarks/fit_overhead.py [--model dcgan] [--repeats 5]

``benchmarks/throughput.py`` measures the whole gap between the GANModule in a bare Trainer and the Trainer
``gan-zoo fit`` builds (logger, progress bar, callbacks). This script splits that gap: each row is the fit
Trainer on the CPU proxy sizes (base_channels 8, batch 16, 1 thread, device-resident batches as in
``throughput.py``) with one callback or the logger taken out, so "saved" is what that piece costs per step.
Rows are interleaved ``--repeats`` times; CPU time of this process is reported (median), which other jobs on
a shared machine disturb far less than wall time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import throughput  # noqa: E402  (the same plan, CLI arguments, batches and step timer)


def fit_without(plan: throughput.Plan, remove: str | None) -> float:
    """CPU seconds per step of the fit Trainer with the callback class named ``remove`` (or the logger) taken out."""
    cli = throughput.build_cli(plan)
    trainer = cli.trainer
    if remove == "logger":
        trainer.loggers = []
    elif remove is not None:
        kept = [cb for cb in trainer.callbacks if type(cb).__name__ != remove]
        if len(kept) == len(trainer.callbacks):
            raise SystemExit(f"no callback named {remove} in the fit Trainer")
        trainer.callbacks = kept
    timer = throughput.StepTimer(plan.warmup, plan.batches, plan.device)
    trainer.callbacks.append(timer)
    trainer.fit(cli.model, train_dataloaders=throughput.DeviceBatches(plan.batches, throughput.batch_size_of(cli), plan.device))
    return timer.timing().cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(throughput.MODELS), default="dcgan")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    device = torch.device("cpu")
    with tempfile.TemporaryDirectory() as tmp, throughput.quiet(False):
        names = [type(cb).__name__ for cb in throughput.build_cli(throughput.Plan(args.model, "proxy", device, 0, 1, Path(tmp))).trainer.callbacks]
    rows = [None, "logger", *names]
    times: dict[str | None, list[float]] = {row: [] for row in rows}
    bare: list[float] = []
    with tempfile.TemporaryDirectory(prefix="gan_zoo_fit_overhead_") as tmp:
        for r in range(args.repeats):
            for i, row in enumerate(rows):
                plan = throughput.Plan(args.model, "proxy", device, args.warmup, args.steps, Path(tmp) / f"{r}_{i}")
                torch.manual_seed(0)
                with throughput.quiet(False):
                    times[row].append(fit_without(plan, row))
            plan = throughput.Plan(args.model, "proxy", device, args.warmup, args.steps, Path(tmp) / f"{r}_bare")
            with throughput.quiet(False):
                bare.append(throughput.bare_module(plan).cpu)
    full = statistics.median(times[None])
    floor = statistics.median(bare)
    print(f"{args.model}, CPU proxy sizes, {args.warmup} + {args.steps} steps, {args.repeats} interleaved repeats, "
          f"CPU ms/step (median)")
    print(f"| {'Trainer':<44} | {'CPU ms/step':>11} | {'saved ms/step':>13} |")
    print(f"|{'-' * 46}|{'-' * 13}|{'-' * 15}|")
    print(f"| {'as gan-zoo fit builds it':<44} | {full * 1e3:11.3f} | {'':>13} |")
    for row in rows[1:]:
        value = statistics.median(times[row])
        print(f"| {'  without ' + row:<44} | {value * 1e3:11.3f} | {(full - value) * 1e3:13.3f} |")
    print(f"| {'bare Trainer (no logger, no callbacks)':<44} | {floor * 1e3:11.3f} | {(full - floor) * 1e3:13.3f} |")


if __name__ == "__main__":
    main()
