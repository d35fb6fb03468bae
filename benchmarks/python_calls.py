"""Python function calls per training step: the GANModule in a bare Trainer against ``gan-zoo fit``'s Trainer.

    python benchmarks/python_calls.py [--model dcgan] [--steps 100 300]

Wall-clock ratios (``benchmarks/throughput.py``) need an idle machine; call counts do not. Each section of
``throughput.py`` that builds the CLI is run under cProfile for two run lengths, and the per-step count is the
difference divided by the difference in steps, so start-up (parsing, instantiation, the model summary) cancels.
A warm-up run of each section first fills the import and parser caches. The gap between the last two rows is what
logging, the progress bar and the callbacks add per step, in the Python the GPU waits on; the plain PyTorch
loop's count (the same nets, optimizers and batches, no Lightning) is the floor.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import pstats
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import throughput  # noqa: E402  (the same sections, nets and device-resident batches)


def calls(section, model: str, steps: int) -> int:
    with tempfile.TemporaryDirectory() as root, contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        plan = throughput.Plan(model, "proxy", torch.device("cpu"), 0, steps, Path(root))
        profile = cProfile.Profile()
        profile.enable()
        section(plan)
        profile.disable()
    return sum(stat[1] for stat in pstats.Stats(profile).stats.values())  # ncalls, recursive calls included


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(throughput.MODELS), default="dcgan")
    parser.add_argument("--steps", type=int, nargs=2, default=[100, 300], metavar=("SHORT", "LONG"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    short, long = args.steps
    per_step = {}
    for name in ("plain", "bare", "as_fit"):
        section = throughput.SECTIONS[name][1]
        calls(section, args.model, 2)  # warm-up: imports, parser and docstring caches
        per_step[name] = (calls(section, args.model, long) - calls(section, args.model, short)) / (long - short)
    print(f"{args.model}, CPU proxy sizes, Python calls per training step (cProfile, runs of {short} and {long} steps):")
    for name, value in per_step.items():
        print(f"  {throughput.SECTIONS[name][0]:<40} {value:8.0f}   {value / per_step['bare']:.2f}x bare")


if __name__ == "__main__":
    main()
