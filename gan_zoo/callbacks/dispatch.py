"""Cheaper per-step hook dispatch for ``gan-zoo fit`` (issue 11): the same hooks run, fewer Python calls wrap them.

For every hook of every step, Lightning's ``_call_callback_hooks`` walks ``trainer.callbacks`` and, for each
callback whose attribute is callable, reads its ``state_key``, the trainer's ``lightning_module`` and enters
``trainer.profiler.profile(...)`` around the call: about 20 Python calls per callback per hook, with about
8 hooks a step (``on_train_batch_start``, ``on_before_backward`` / ``on_after_backward`` /
``on_before_optimizer_step`` for each of the two updates, ``on_train_batch_end``). Most callbacks implement one
of those hooks and inherit ``Callback``'s empty body for the rest. Two things remove the wrapping where nothing
runs inside it (a callback that acts only before training, such as LightningCLI's ``SaveConfigCallback`` or
``ModelSummary``, then costs two built-in calls per hook):

* ``skip_inherited_step_hooks``: a callback's per-step hook that is ``Callback``'s own no-op is set to ``None`` on
  the instance. Lightning skips attributes that are not callable (``if callable(fn)`` in ``_call_callback_hooks``),
  and ``is_overridden`` reads ``None`` as "not overridden", so behaviour is unchanged: only an empty call is not
  made. Hooks a class overrides, or that are already set on the instance, are left alone.
* ``NoOpProfiler``: Lightning's default profiler (``PassThroughProfiler``) records nothing but still builds a
  generator-based context manager for every hook call of the module and the callbacks (``profile`` is a
  ``@contextmanager`` that calls ``start`` and ``stop``). This one hands back one shared ``nullcontext``.
  ``gan-zoo fit`` uses it only where the trainer would use ``PassThroughProfiler``; ``--trainer.profiler simple``
  and the others are kept as chosen.

Measured by ``benchmarks/python_calls.py`` and ``benchmarks/throughput.py`` (README, Benchmarks).
"""

from __future__ import annotations

import contextlib
from typing import Iterable

import lightning as L
from lightning.pytorch.profilers import PassThroughProfiler

__all__ = ["NoOpProfiler", "STEP_HOOKS", "skip_inherited_step_hooks"]

# The callback hooks Lightning calls on every training step. on_before_zero_grad comes only from the
# automatic-optimization loop (the zoo's models optimize manually); listed so a Trainer running such a model skips it too.
STEP_HOOKS = (
    "on_train_batch_start",
    "on_before_backward",
    "on_after_backward",
    "on_before_optimizer_step",
    "on_before_zero_grad",
    "on_train_batch_end",
)

_NOTHING = contextlib.nullcontext()  # reusable and reentrant: it holds no state


class NoOpProfiler(PassThroughProfiler):
    """``PassThroughProfiler`` whose ``profile(action)`` returns a shared no-op context manager instead of a new
    generator context that calls the (empty) ``start``/``stop`` around every hook."""

    def profile(self, action_name: str) -> contextlib.AbstractContextManager:  # type: ignore[override]
        return _NOTHING


def skip_inherited_step_hooks(callbacks: Iterable[L.Callback], hooks: Iterable[str] = STEP_HOOKS) -> None:
    """Set each of ``hooks`` that a callback inherits unchanged from ``lightning.Callback`` to ``None`` on the
    instance, so Lightning's dispatch skips it. Returns nothing; the callbacks are edited in place."""
    hooks = tuple(hooks)
    for callback in callbacks:
        for hook in hooks:
            if hook in vars(callback):
                continue  # set on the instance by someone else: theirs to keep
            if getattr(type(callback), hook, None) is getattr(L.Callback, hook):
                setattr(callback, hook, None)
