"""The shared GANModule loop: which net each update touches, n_critic counting, EMA, precision."""

from __future__ import annotations

import pytest
import torch

from gan_zoo.models import DCGAN
from helpers import params_of, random_loader, same, tiny_trainer

TINY_NETS = {
    "generator": {"init_args": {"latent_dim": 8, "image_shape": [1, 28, 28], "base_channels": 4}},
    "discriminator": {"init_args": {"image_shape": [1, 28, 28], "base_channels": 4}},
}


class ProbedDCGAN(DCGAN):
    """Records, around every update, whether each net's parameters changed."""

    def on_gan_fit_start(self) -> None:
        self.records: list[tuple[str, bool, bool]] = []  # (update, G changed, D changed)

    def d_loss(self, real, fake, labels):
        self._before = (params_of(self.generator), params_of(self.discriminator))
        return super().d_loss(real, fake, labels)

    def g_loss(self, real, fake, labels):
        self._before = (params_of(self.generator), params_of(self.discriminator))
        return super().g_loss(real, fake, labels)

    def _record(self, name: str) -> None:
        g0, d0 = self._before
        self.records.append((name, not same(g0, params_of(self.generator)), not same(d0, params_of(self.discriminator))))

    def after_d_step(self, stats) -> None:
        self._record("D")

    def after_g_step(self, stats) -> None:
        self._record("G")


def build(cls=DCGAN, **overrides):
    from gan_zoo.registry import instantiate_from_config, model_config

    return instantiate_from_config(cls, model_config("dcgan", **{**TINY_NETS, **overrides}))


def test_each_update_touches_only_its_own_net(tmp_path):
    model = build(ProbedDCGAN)
    tiny_trainer(tmp_path, max_epochs=1).fit(model, random_loader((1, 28, 28), n=24))
    assert [r[0] for r in model.records] == ["D", "G"] * 3
    for name, g_changed, d_changed in model.records:
        if name == "D":
            assert d_changed and not g_changed
        else:
            assert g_changed and not d_changed


@pytest.mark.parametrize("n_critic", [1, 3])
def test_n_critic_counting(tmp_path, n_critic):
    model = build(n_critic=n_critic)
    trainer = tiny_trainer(tmp_path, max_epochs=1)
    trainer.fit(model, random_loader((1, 28, 28), n=96, batch_size=8))  # 12 batches
    assert int(model.d_updates) == 12
    assert int(model.g_updates) == 12 // n_critic
    assert int(model.d_updates) == n_critic * int(model.g_updates)
    # Lightning's global_step counts both optimizers' steps (documented unit of max_steps).
    assert trainer.global_step == int(model.d_updates) + int(model.g_updates)


def test_max_steps_counts_both_optimizers(tmp_path):
    model = build()
    tiny_trainer(tmp_path, max_steps=10).fit(model, random_loader((1, 28, 28), n=160))
    assert (int(model.d_updates), int(model.g_updates)) == (5, 5)


def test_ema_tracks_generator_with_its_decay(tmp_path):
    decay = 0.9
    model = build(ema_decay=decay)
    initial = params_of(model.generator)
    tiny_trainer(tmp_path, max_epochs=1).fit(model, random_loader((1, 28, 28), n=24))
    assert int(model.generator_ema.n_averaged) == 3
    # EMA weights differ from both the initial and the current generator (it lags behind).
    ema = params_of(model.generator_ema.module)
    assert not same(ema, params_of(model.generator)) and not same(ema, initial)
    # sample() uses the EMA by default and the raw generator on request.
    a, b = model.sample(4, seed=0), model.sample(4, seed=0, use_ema=False)
    assert a.shape == b.shape and not torch.equal(a, b)


def test_ema_equals_closed_form_recurrence():
    # AveragedModel with get_ema_multi_avg_fn: first update copies, then p_ema <- d p_ema + (1 - d) p.
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    net = torch.nn.Linear(2, 1)
    ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(0.5), use_buffers=True)
    values = [1.0, 3.0, 5.0]
    expected = None
    for v in values:
        with torch.no_grad():
            net.weight.fill_(v)
        ema.update_parameters(net)
        expected = v if expected is None else 0.5 * expected + 0.5 * v
    assert ema.module.weight[0, 0].item() == pytest.approx(expected)


def test_sample_is_deterministic_and_restores_train_mode():
    model = build()
    model.train()
    a, b = model.sample(5, seed=3), model.sample(5, seed=3)
    assert torch.equal(a, b) and a.shape == (5, 1, 28, 28)
    assert a.min() >= -1 and a.max() <= 1
    assert model.generator.training, "sample() must restore the generator's mode"
    assert not torch.equal(a, model.sample(5, seed=4))


def test_mixed_precision_updates_both_nets(tmp_path):
    # bf16-mixed is the CPU twin of the GPU 16-mixed path (Lightning maps 16-mixed to bf16 on the CPU):
    # manual_backward goes through the precision plugin. Both nets must move and losses stay finite.
    precision = "bf16-mixed"
    model = build()
    g0, d0 = params_of(model.generator), params_of(model.discriminator)
    trainer = tiny_trainer(tmp_path, max_epochs=1, precision=precision)
    trainer.fit(model, random_loader((1, 28, 28), n=16))
    assert not same(g0, params_of(model.generator)) and not same(d0, params_of(model.discriminator))
    assert all(torch.isfinite(v) for v in trainer.callback_metrics.values())


def test_invalid_arguments_fail_clearly():
    with pytest.raises(ValueError, match="n_critic"):
        build(n_critic=0)
    with pytest.raises(ValueError, match="ema_decay"):
        build(ema_decay=1.5)
