"""The variant contract (GANModule, second edition), checked on every registered model:
base behaviour that cannot be dropped, base arguments forwarded, stats that flow through return values,
one sampling protocol shared with pretrained generators, and the features() hook."""

from __future__ import annotations

import inspect

import lightning as L
import pytest
import torch
from jsonargparse import ArgumentParser

from gan_zoo import create_model, list_models, load_pretrained, save_pretrained
from gan_zoo.models.base import FINAL_METHODS, GANModule
from gan_zoo.models.dcgan import DCGAN
from gan_zoo.registry import get_model_spec
from helpers import random_loader, tiny_trainer

BASE_ARGS = [n for n in inspect.signature(GANModule.__init__).parameters if n != "self"]


@pytest.mark.parametrize("hook", sorted(FINAL_METHODS))
def test_a_variant_cannot_override_base_behaviour(hook):
    with pytest.raises(TypeError, match=f"overrides GANModule.{hook}.*use "):
        type("Careless", (DCGAN,), {hook: lambda self, *args, **kwargs: None})


def test_variant_hooks_stay_open():
    """The hooks a variant is meant to write are not final."""
    for hook in ("d_loss", "g_loss", "after_d_step", "after_g_step", "critic_steps", "on_gan_fit_start",
                 "generate", "discriminate", "features", "training_step"):
        type("Fine", (DCGAN,), {hook: lambda self, *args, **kwargs: None})


@pytest.mark.parametrize("name", list_models())
def test_every_variant_exposes_and_forwards_every_base_argument(name):
    cls = get_model_spec(name).cls
    parser = ArgumentParser(exit_on_error=False)
    parser.add_class_arguments(cls, "model", fail_untyped=False)
    exposed = {action.dest.split(".", 1)[1].split(".")[0] for action in parser._actions if action.dest.startswith("model.")}
    assert set(BASE_ARGS) <= exposed, f"{name} hides base arguments {set(BASE_ARGS) - exposed} from the CLI"

    prior = "uniform" if create_model(name, tiny=True).hparams.latent_prior == "normal" else "normal"
    model = create_model(
        name, tiny=True, n_critic=3, latent_prior=prior, ema_decay=0.9,
        g_optimizer={"class_path": "torch.optim.SGD", "init_args": {"lr": 0.01}},
        d_optimizer={"class_path": "torch.optim.SGD", "init_args": {"lr": 0.02}},
    )
    assert model.hparams.n_critic == 3 and model.critic_steps() == 3
    assert model.hparams.latent_prior == prior and model.hparams.ema_decay == 0.9
    assert model.generator_ema is not None
    g_opt, d_opt = model.configure_optimizers()
    assert isinstance(g_opt, torch.optim.SGD) and g_opt.defaults["lr"] == 0.01
    assert isinstance(d_opt, torch.optim.SGD) and d_opt.defaults["lr"] == 0.02
    z = model.sample_latent(20000)
    if prior == "uniform":
        assert z.abs().max() <= 1
    else:
        assert z.abs().max() > 1  # a normal prior leaves [−1, 1] somewhere in 20k draws


class StatsProbe(L.Callback):
    def __init__(self) -> None:
        self.outputs: list[dict] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.outputs.append(outputs)


@pytest.mark.parametrize("name", list_models())
def test_step_measurements_flow_through_return_values(name, tmp_path):
    """training_step returns what the updates measured (the logged values), and no model keeps
    step-local tensors in attributes or non-persistent buffers."""
    model = create_model(name, tiny=True)
    received: list[dict] = []
    original = model.after_d_step
    model.after_d_step = lambda stats: (received.append(stats), original(stats))[1]
    shape = tuple(model.generator.image_shape)
    probe = StatsProbe()
    trainer = tiny_trainer(tmp_path, max_steps=4, callbacks=[probe])
    trainer.fit(model, random_loader(shape, n=32, batch_size=4, num_classes=10))
    assert received and all("d_loss" in stats for stats in received)
    last = probe.outputs[-1]
    assert torch.equal(last["d_loss"], received[-1]["d_loss"])
    for key, value in last.items():
        logged = trainer.callback_metrics.get(f"train/{key}")
        assert logged is not None and torch.equal(logged, value.detach()), key
    tensors = [k for k, v in vars(model).items() if isinstance(v, torch.Tensor)]
    assert not tensors, f"{name} keeps tensors in attributes: {tensors}"
    assert not model._non_persistent_buffers_set, f"{name} parks values in buffers {model._non_persistent_buffers_set}"


@pytest.mark.parametrize("name", list_models())
def test_one_sampling_protocol_for_models_and_pretrained_generators(name, tmp_path):
    model = create_model(name, tiny=True).eval()
    if hasattr(model, "check_exportable"):  # ProGAN exports its grown generator: finish the growth first
        model.load_state_dict({**model.state_dict(), "images_shown": torch.tensor(10**9)})
    save_pretrained(model, tmp_path / name)
    loaded = load_pretrained(tmp_path / name)
    assert torch.equal(loaded.sample(6, seed=3), model.sample(6, seed=3))
    if get_model_spec(name).conditional or hasattr(model.generator, "num_categories"):
        labels = torch.tensor([1, 1, 0, 2, 2, 1])
        assert torch.equal(loaded.sample(6, labels=labels, seed=4), model.sample(6, labels=labels, seed=4))
    else:
        with pytest.raises(ValueError, match="unconditional"):
            loaded.sample(2, labels=torch.tensor([0, 1]))


@pytest.mark.parametrize("name", [n for n in list_models() if n != "began"])
def test_features_hook_gives_intermediate_discriminator_features(name):
    model = create_model(name, tiny=True).eval()
    x = model.sample(4, seed=0)
    labels = torch.tensor([0, 1, 2, 3]) if get_model_spec(name).conditional else None
    features = model.features(x, labels)
    assert features.dim() == 2 and features.shape[0] == 4 and features.shape[1] > 1


def test_host_counters_follow_loaded_state():
    model = create_model("dcgan", tiny=True)
    state = model.state_dict()
    state["g_updates"].fill_(7)
    state["d_updates"].fill_(9)
    fresh = create_model("dcgan", tiny=True)
    fresh.load_state_dict(state)
    assert (fresh.num_d_updates, fresh.num_g_updates) == (9, 7)


def test_critic_schedule_reads_host_counters_only():
    """WGAN's reference schedule (Arjovsky et al.'s code) is decided from the host mirror."""
    model = create_model("wgan", tiny=True, reference_schedule=True)
    model.num_g_updates = 30
    model.g_updates.fill_(0)  # a stale buffer must not matter
    assert model.critic_steps() == 5
    model.num_g_updates = 500
    assert model.critic_steps() == 100


def test_schedule_state_is_not_averaged_into_the_ema_generator():
    """Why stage/α stay off G: AveragedModel(use_buffers=True) averages G's buffers, so an integer buffer
    on G (a stage counter 0 -> 1) stays 0 in the EMA copy. This pins the rule base.py documents."""
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    net = torch.nn.Linear(2, 2)
    net.register_buffer("stage", torch.zeros((), dtype=torch.long))
    ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(0.999), use_buffers=True)
    ema.update_parameters(net)
    net.stage.fill_(1)
    ema.update_parameters(net)
    assert int(ema.module.stage) == 0  # truncated: 0.999·0 + 0.001·1 -> 0
