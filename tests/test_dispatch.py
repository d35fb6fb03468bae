"""``gan_zoo.callbacks.dispatch``: per-step hooks a callback inherits empty are not dispatched, the hooks it
implements still run on every step, and ``gan-zoo fit`` swaps Lightning's default profiler for the no-op one
(a profiler the user names is kept)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import lightning as L
from lightning.pytorch.profilers import PassThroughProfiler, SimpleProfiler
from lightning.pytorch.utilities.model_helpers import is_overridden

from gan_zoo.callbacks.dispatch import STEP_HOOKS, NoOpProfiler, skip_inherited_step_hooks
from gan_zoo.cli import cli_main
from helpers import DIGITS, random_loader, tiny_trainer


class EndOnly(L.Callback):
    """Implements one per-step hook; counts its calls."""

    def __init__(self) -> None:
        self.ends = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.ends += 1


class RecordingProfiler(NoOpProfiler):
    """Records the action names Lightning wraps; the callback hooks are named "[Callback]<state_key>.<hook>"."""

    def __init__(self) -> None:
        super().__init__()
        self.actions: Counter[str] = Counter()

    def profile(self, action_name: str):
        self.actions[action_name] += 1
        return super().profile(action_name)


def test_inherited_hooks_become_none_and_implemented_ones_stay():
    callback = EndOnly()
    own = lambda *args: None  # noqa: E731  (a hook someone set on the instance)
    callback.on_after_backward = own
    skip_inherited_step_hooks([callback])
    assert callback.on_after_backward is own
    assert callback.on_train_batch_end.__func__ is EndOnly.on_train_batch_end
    for hook in set(STEP_HOOKS) - {"on_after_backward", "on_train_batch_end"}:
        assert getattr(callback, hook) is None, hook
        assert not is_overridden(hook, callback)  # Lightning's own test of "does it implement this hook" agrees
    assert callback.on_train_start.__func__ is L.Callback.on_train_start  # not a per-step hook: left alone


class EndOnlyTrimmed(EndOnly):
    """The same callback under another ``state_key``, to tell the two apart in the profiler's action names."""


def test_skipped_hooks_are_not_dispatched_and_implemented_ones_run_every_step(tmp_path):
    from gan_zoo import create_model

    model = create_model("dcgan", tiny=True)
    trimmed, untouched = EndOnlyTrimmed(), EndOnly()
    skip_inherited_step_hooks([trimmed])
    profiler = RecordingProfiler()
    trainer = tiny_trainer(tmp_path, max_steps=6, callbacks=[trimmed, untouched], profiler=profiler)  # 3 batches
    trainer.fit(model, random_loader(tuple(model.generator.image_shape), n=12, batch_size=4))
    assert trimmed.ends == untouched.ends == 3
    assert profiler.actions["[Callback]EndOnlyTrimmed.on_train_batch_end"] == 3
    for hook in ("on_train_batch_start", "on_before_backward", "on_after_backward", "on_before_optimizer_step"):
        assert profiler.actions[f"[Callback]EndOnly.{hook}"] >= 3, hook  # Lightning dispatches it every step...
        assert profiler.actions[f"[Callback]EndOnlyTrimmed.{hook}"] == 0, hook  # ...but not where it is None


def test_no_op_profiler_is_a_reusable_context_manager():
    profiler = NoOpProfiler()
    with profiler.profile("outer"):
        with profiler.profile("inner"):  # nested, the same object: must not hold state
            pass
    assert profiler.profile("a") is profiler.profile("b")
    assert profiler.summary() == ""


def test_gan_zoo_fit_uses_the_no_op_profiler_and_skips_inherited_hooks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli = cli_main(["--config", DIGITS, "--trainer.max_steps=6", "--trainer.enable_progress_bar=false"], run=False)
    assert type(cli.trainer.profiler) is NoOpProfiler and isinstance(cli.trainer.profiler, PassThroughProfiler)
    names = {type(c).__name__: c for c in cli.trainer.callbacks}
    assert {"GANCheckpoint", "SampleGrid", "NonFiniteGuard", "SaveConfigCallback", "ModelSummary"} <= set(names)
    assert names["SampleGrid"].on_before_backward is None
    assert names["SampleGrid"].on_train_batch_end is not None  # it draws its grids there

    profiler = RecordingProfiler()  # the same no-op, recording what Lightning wraps
    cli.trainer.profiler = profiler
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)  # 3 batches
    step_actions = [a for a in profiler.actions if a.startswith("[Callback]") and a.rsplit(".", 1)[-1] in STEP_HOOKS]
    # Callbacks that act only before training (config.yaml, the model summary) are not called on any step...
    assert not [a for a in step_actions if "SaveConfigCallback" in a or "ModelSummary" in a], step_actions
    assert (Path(cli.trainer.log_dir) / "config.yaml").is_file()  # ...and did their work before the first one
    for name in ("GANCheckpoint", "SampleGrid", "NonFiniteGuard"):  # the rest run on every step
        ends = [a for a in step_actions if a.startswith(f"[Callback]{name}") and a.endswith(".on_train_batch_end")]
        assert ends and sum(profiler.actions[a] for a in ends) == 3, (name, step_actions)
        assert not [a for a in step_actions if a.startswith(f"[Callback]{name}") and not a.endswith(".on_train_batch_end")]


def test_a_profiler_the_user_names_is_kept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli = cli_main(["--config", DIGITS, "--trainer.max_steps=2", "--trainer.profiler=simple"], run=False)
    assert isinstance(cli.trainer.profiler, SimpleProfiler)
