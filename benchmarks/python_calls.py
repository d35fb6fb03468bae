"""Python function calls per training step: the GANModule in a bare Trainer against ``gan-zoo fit``'s Trainer.

    python benchmarks/python_calls.py [--model dcgan] [--steps 100 300]
    python benchmarks/python_calls.py --breakdown 2 [--within base.py:d_update]   # where the as-fit calls go

Wall-clock ratios (``benchmarks/throughput.py``) need an idle machine; call counts do not. Each section of
``throughput.py`` that builds the CLI is run under cProfile for two run lengths, and the per-step count is the
difference divided by the difference in steps, so start-up (parsing, instantiation, the model summary) cancels.
A warm-up run of each section first fills the import and parser caches. The gap between the last two rows is what
logging, the progress bar and the callbacks add per step, in the Python the GPU waits on; the plain PyTorch
loop's count (the same nets, optimizers and batches, no Lightning) is the floor.

``--breakdown DEPTH`` attributes every call (Python and C) made per step inside ``--within`` (``file.py:function``
or a bare function name, the innermost such frame: by default Lightning's ``_TrainingEpochLoop.advance``, one batch) to its chain of callers DEPTH levels below
that function (``sys.setprofile``, the same two-run difference), for the section ``--section`` (as_fit).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import pstats
import sys
import tempfile
from collections import Counter
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


def breakdown(section, model: str, steps: int, within: str, depth: int) -> Counter:
    """{"file:function > file:function ...": calls} for every call made under a frame of function ``within``."""
    counts: Counter = Counter()
    within_file, _, within_function = within.rpartition(":")  # "" when a bare function name

    def is_within(frame) -> bool:
        code = frame.f_code
        return code.co_name == within_function and (not within_file or Path(code.co_filename).name == within_file)

    def label(frame) -> str:
        return f"{Path(frame.f_code.co_filename).name}:{frame.f_code.co_name}"

    def tracer(frame, event, arg):
        if event not in ("call", "c_call"):
            return
        chain, current = [], frame
        while current is not None and not is_within(current):
            chain.append(current)
            current = current.f_back
        if current is None:
            return  # not under `within`
        chain.reverse()  # outermost first
        key = " > ".join(label(f) for f in chain[:depth]) or "(itself)"
        if event == "c_call" and len(chain) < depth:
            key += f" > [C] {getattr(arg, '__name__', '?')}"
        counts[key] += 1

    with tempfile.TemporaryDirectory() as root, contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        plan = throughput.Plan(model, "proxy", torch.device("cpu"), 0, steps, Path(root))
        sys.setprofile(tracer)
        try:
            section(plan)
        finally:
            sys.setprofile(None)
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(throughput.MODELS), default="dcgan")
    parser.add_argument("--steps", type=int, nargs=2, default=[100, 300], metavar=("SHORT", "LONG"))
    parser.add_argument("--breakdown", type=int, default=0, metavar="DEPTH", help="per-step calls by caller chain")
    parser.add_argument("--within", default="training_epoch_loop.py:advance",
                        help="FILE:FUNCTION or FUNCTION whose calls --breakdown splits (default: one batch)")
    parser.add_argument("--section", choices=["plain", "bare", "as_fit"], default="as_fit")
    parser.add_argument("--min-calls", type=float, default=4.0, help="--breakdown rows with fewer calls per step are left out")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    short, long = args.steps
    if args.breakdown:
        section = throughput.SECTIONS[args.section][1]
        calls(section, args.model, 2)
        a = breakdown(section, args.model, short, args.within, args.breakdown)
        b = breakdown(section, args.model, long, args.within, args.breakdown)
        per_step = {k: (b[k] - a[k]) / (long - short) for k in set(a) | set(b)}
        print(f"{args.model}, {args.section}: Python calls per training step under {args.within}(), "
              f"{sum(per_step.values()):.0f} in all, by caller chain (depth {args.breakdown}):")
        for key, value in sorted(per_step.items(), key=lambda kv: -kv[1]):
            if value >= args.min_calls:
                print(f"  {value:8.1f}  {key}")
        return
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
