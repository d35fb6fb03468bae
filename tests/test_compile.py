"""``CompileNets`` (``gan-zoo fit --compile.*``): torch.compile of the nets, opt-in.

The tests trace with the ``aot_eager`` backend: the same Dynamo capture and AOTAutograd (fake-tensor)
tracing as inductor, where the failures reported on torch 2.11 happened, without code generation, which
costs over a minute per net on the CI's CPU. Inductor itself is measured in ``benchmarks/throughput.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gan_zoo import create_model, list_models
from gan_zoo.callbacks import CompileNets
from gan_zoo.cli import cli_main
from gan_zoo.errors import GanZooError
from gan_zoo.registry import get_model_spec
from helpers import DIGITS, params_of, random_loader, tiny_trainer

ROOT = Path(__file__).parents[1]


def _fit(name: str, tmp_path, callbacks, steps: int = 6, seed: int = 0):
    torch.manual_seed(seed)
    model = create_model(name, tiny=True)
    loader = random_loader(model.generator.image_shape, n=64, batch_size=16)
    trainer = tiny_trainer(tmp_path, max_steps=steps, callbacks=callbacks)
    trainer.fit(model, loader)
    return model, trainer


def _compiled(module: torch.nn.Module) -> bool:
    return getattr(module, "_compiled_call_impl", None) is not None


def test_compiled_dcgan_trains_like_eager_with_the_same_state_dict_keys(tmp_path):
    eager, _ = _fit("dcgan", tmp_path / "eager", [])
    compiled, trainer = _fit("dcgan", tmp_path / "compiled", [CompileNets(enabled=True, backend="aot_eager")])
    assert _compiled(compiled.generator) and _compiled(compiled.discriminator)
    assert not _compiled(eager.generator)
    assert list(compiled.state_dict()) == list(eager.state_dict())  # no "_orig_mod." prefixes: checkpoints interchange
    for a, b in zip(params_of(compiled), params_of(eager)):  # same seed, same arithmetic up to float reassociation
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    assert (int(compiled.d_updates), int(compiled.g_updates)) == (3, 3)
    # A checkpoint of the compiled run loads into an eager model.
    path = tmp_path / "compiled.ckpt"
    trainer.save_checkpoint(path)
    state = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    fresh = create_model("dcgan", tiny=True)
    fresh.load_state_dict(state)
    for a, b in zip(params_of(fresh), params_of(compiled)):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_disabled_compiles_nothing(tmp_path):
    model, _ = _fit("dcgan", tmp_path, [CompileNets(enabled=False)], steps=2)
    assert not _compiled(model.generator) and not _compiled(model.discriminator)


def test_gradient_penalty_models_keep_d_eager_by_default(tmp_path):
    # WGAN-GP differentiates twice through D; AOTAutograd cannot, so "auto" compiles G only and training runs.
    model, _ = _fit("wgan_gp", tmp_path, [CompileNets(enabled=True, backend="aot_eager")], steps=12)
    assert _compiled(model.generator) and not _compiled(model.discriminator)
    assert int(model.g_updates) >= 1


def test_the_double_backward_limit_is_real_and_named_in_one_line(tmp_path):
    # Why "auto" leaves D eager: compiling it breaks the penalty's backward...
    model = create_model("wgan_gp", tiny=True)
    model.discriminator.compile(backend="aot_eager")
    x = torch.rand(4, *model.generator.image_shape, requires_grad=True)
    (grad,) = torch.autograd.grad(model.discriminator(x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="double backward"):
        grad.square().sum().backward()
    # ...so asking for it explicitly is a one-line error naming the fix, before any step runs.
    with pytest.raises(GanZooError, match="--compile.nets auto"):
        _fit("wgan_gp", tmp_path, [CompileNets(enabled=True, nets=["discriminator"], backend="aot_eager")], steps=2)


def test_bad_net_names_are_refused():
    with pytest.raises(GanZooError, match="compile.nets"):
        CompileNets(enabled=True, nets=["critic"])


def test_cli_compile_option(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli = cli_main(["fit", "--config", DIGITS, "--trainer.max_steps=4", "--trainer.enable_progress_bar=false",
                    "--data.init_args.limit_samples=64", "--sample_grid.every_n_g_steps=0",
                    "--compile.enabled=true", "--compile.backend=aot_eager"])
    assert _compiled(cli.model.generator) and _compiled(cli.model.discriminator)
    assert int(cli.model.g_updates) == 2


@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_trains_compiled(name, tmp_path):
    """The registry sweep with --compile.enabled (aot_eager): every model's tiny nets trace and train, and the
    nets "auto" compiles are all but those the model differentiates twice."""
    spec = get_model_spec(name)
    torch.manual_seed(0)
    model = create_model(name, tiny=True)
    num_classes = getattr(model.generator, "num_classes", None) if spec.conditional else 10
    loader = random_loader(tuple(model.generator.image_shape), n=64, batch_size=16, num_classes=num_classes or 10)
    tiny_trainer(tmp_path, max_steps=12, callbacks=[CompileNets(enabled=True, backend="aot_eager")]).fit(model, loader)
    assert int(model.g_updates) >= 1
    twice = set(model.nets_differentiated_twice)
    for net in ("generator", "discriminator"):
        assert _compiled(getattr(model, net)) == (net not in twice), net
    assert all(torch.isfinite(p).all() for p in model.parameters())
