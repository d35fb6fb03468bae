"""Salimans et al. 2016's techniques, each against an independent computation, and the ImprovedGAN switches."""

from __future__ import annotations

import math

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gan_zoo import create_model
from gan_zoo.losses import d_bce_loss
from gan_zoo.models import ImprovedGAN
from gan_zoo.nets import DCGANDiscriminator, DCGANGenerator, MinibatchDiscrimination, MinibatchDiscriminator, VirtualBatchNorm
from gan_zoo.regularizers import HistoricalAverage
from helpers import params_of, random_loader, same, tiny_trainer

SHAPE = (1, 28, 28)
NETS = {
    "generator": {"init_args": {"latent_dim": 8, "image_shape": list(SHAPE), "base_channels": 4, "reference_batch_size": 4}},
    "discriminator": {"init_args": {"image_shape": list(SHAPE), "base_channels": 4}},
}
ALL_OFF = dict(feature_matching=False, minibatch_kernels=0, d_historical_weight=0.0, g_historical_weight=0.0, real_label=1.0)


def build(norm: str = "batch", **overrides) -> ImprovedGAN:
    nets = {"generator": {"init_args": {**NETS["generator"]["init_args"], "norm": norm}}, "discriminator": NETS["discriminator"]}
    return create_model("improved_gan", **nets, **{**ALL_OFF, "minibatch_kernels": 4, "minibatch_kernel_dim": 3, **overrides})


# ------------------------------------------------------------------------------ minibatch discrimination (Sec. 3.2)
def test_minibatch_features_match_a_float64_double_loop():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(in_features=6, num_kernels=4, kernel_dim=3).double()
    with torch.no_grad():
        layer.T.normal_(0, 0.3)  # large enough that c_b is neither ~1 nor ~0
    f = torch.randn(5, 6, dtype=torch.float64)
    got = layer(f)
    T = layer.T.detach().view(6, 4, 3)  # T ∈ R^{A×B×C}
    n, A, B, C = 5, 6, 4, 3
    M = [[[sum(f[i, a].item() * T[a, b, c].item() for a in range(A)) for c in range(C)] for b in range(B)] for i in range(n)]
    expected = torch.zeros(n, B, dtype=torch.float64)
    for i in range(n):
        for b in range(B):
            for j in range(n):  # o(x_i)_b = Σ_j exp(−‖M_{i,b} − M_{j,b}‖_L1), j = i included
                expected[i, b] += math.exp(-sum(abs(M[i][b][c] - M[j][b][c]) for c in range(C)))
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)
    assert (got > 1).all() and (got < n).all()  # the self term is 1; other examples add strictly between 0 and 1


def test_minibatch_wrapper_adds_o_to_any_features_net():
    inner = DCGANDiscriminator(SHAPE, base_channels=4)
    wrapped = MinibatchDiscriminator(inner, num_kernels=5, kernel_dim=2)
    x = torch.randn(6, *SHAPE)
    f = inner.features(x)
    assert wrapped.minibatch.in_features == f.shape[1] and wrapped.head.in_features == f.shape[1] + 5
    expected = wrapped.head(torch.cat([f, wrapped.minibatch(f)], 1)).squeeze(1)
    torch.testing.assert_close(wrapped(x), expected)
    torch.testing.assert_close(wrapped.features(x), f)  # feature matching still sees per-example f(x)
    with pytest.raises(ValueError, match="features"):
        MinibatchDiscriminator(nn.Linear(3, 1))


def test_minibatch_layer_reads_the_last_hidden_layer_whatever_layer_feature_matching_reads():
    # Sec. 3.2 puts o(x) before D's output layer; feature_layer only moves f(x) for feature matching (Sec. 3.1)
    torch.manual_seed(0)
    inner = DCGANDiscriminator(SHAPE, base_channels=4, feature_layer=0)
    wrapped = MinibatchDiscriminator(inner, num_kernels=5, kernel_dim=2)
    x = torch.randn(6, *SHAPE)
    h = inner.body(x).flatten(1)  # the last conv stage's map, flattened: what DCGAN's own head reads
    assert h.shape[1] != inner.features(x).shape[1]  # the first stage is another layer
    assert wrapped.minibatch.in_features == h.shape[1] and wrapped.head.in_features == h.shape[1] + 5
    torch.testing.assert_close(wrapped(x), wrapped.head(torch.cat([h, wrapped.minibatch(h)], 1)).squeeze(1))
    torch.testing.assert_close(wrapped.features(x), inner.features(x))
    wrapped(x).sum().backward()
    no_grad = [name for name, p in inner.named_parameters() if name.startswith("body") and p.grad is None]
    assert no_grad == []  # every conv stage shapes the logit


def test_real_and_fake_batches_go_through_minibatch_discrimination_separately():
    model = build(minibatch_kernels=4, real_label=0.9)
    model.discriminator.eval()  # no batch-norm batch statistics: D sees exactly the batches it is given
    real, fake = torch.randn(6, *SHAPE), torch.randn(6, *SHAPE)
    loss, _ = model.d_loss(real, fake, None)
    D = model.discriminator
    separate = d_bce_loss(D(real), D(fake), real_target=0.9)
    mixed_logits = D(torch.cat([real, fake]))  # o(x_i) would compare reals with fakes
    mixed = d_bce_loss(mixed_logits[:6], mixed_logits[6:], real_target=0.9)
    torch.testing.assert_close(loss, separate)
    assert not torch.allclose(loss, mixed)


# ------------------------------------------------------------------------------ virtual batch norm (Sec. 3.5)
@pytest.mark.parametrize("shape", [(4,), (4, 3, 3)])
def test_vbn_is_batch_norm_over_the_reference_batch_plus_the_example(shape):
    torch.manual_seed(1)
    vbn = VirtualBatchNorm(4, reference_size=5).double()
    with torch.no_grad():
        vbn.weight.uniform_(0.5, 2)
        vbn.bias.normal_()
    reference, live = torch.randn(5, *shape, dtype=torch.float64), torch.randn(3, *shape, dtype=torch.float64) * 2 + 1
    out = vbn(torch.cat([reference, live]))
    bn = lambda x: F.batch_norm(x, None, None, vbn.weight, vbn.bias, training=True, eps=vbn.eps)  # noqa: E731
    torch.testing.assert_close(out[:5], bn(reference))  # the reference batch: its own statistics
    for i in range(3):  # each live example: the statistics of R ∪ {x_i}
        torch.testing.assert_close(out[5 + i], bn(torch.cat([reference, live[i : i + 1]]))[-1])


@pytest.mark.parametrize("norm, independent", [("virtual_batch", True), ("batch", False)])
def test_a_vbn_sample_does_not_depend_on_its_minibatch(norm, independent):
    torch.manual_seed(2)
    g = DCGANGenerator(8, SHAPE, base_channels=4, norm=norm, reference_batch_size=4).train()
    z = torch.randn(5, 8)
    other = torch.cat([z[:1], torch.randn(7, 8) * 3])  # same first example, different (and more) batch mates
    first, again = g(z)[0], g(other)[0]
    assert torch.allclose(first, again, atol=1e-6) == independent  # batch norm (the control) mixes the batch
    if independent:
        torch.testing.assert_close(g.eval()(z[:1])[0], first, atol=1e-6, rtol=1e-5)  # and no train/eval difference


def test_vbn_reference_batch_is_drawn_at_fit_start_and_survives_checkpoints(tmp_path):
    model = build(norm="virtual_batch", latent_prior="uniform", ema_decay=0.9)
    built_with = model.generator.reference_z.clone()  # N(0, I) at construction
    trainer = tiny_trainer(tmp_path, max_steps=4)
    trainer.fit(model, random_loader(SHAPE, n=32, num_classes=None))
    reference = model.generator.reference_z.clone()
    assert not torch.equal(reference, built_with) and reference.min() >= -1 and reference.max() <= 1  # U(−1, 1) prior
    torch.testing.assert_close(model.generator_ema.module.reference_z, reference)
    path = tmp_path / "vbn.ckpt"
    trainer.save_checkpoint(path)
    restored = ImprovedGAN.load_from_checkpoint(path)
    assert torch.equal(restored.generator.reference_z, reference)
    assert torch.equal(model.sample(3, seed=5), restored.sample(3, seed=5))
    # a resumed fit keeps the checkpoint's reference batch (it is drawn once, at the start of training)
    resumed = build(norm="virtual_batch", latent_prior="uniform", ema_decay=0.9)
    resumed.generator.reference_seed = 99  # a fresh fit would draw another batch; a resumed one must not
    tiny_trainer(tmp_path, max_steps=8).fit(resumed, random_loader(SHAPE, n=32, num_classes=None), ckpt_path=str(path))
    assert torch.equal(resumed.generator.reference_z, reference)


# ------------------------------------------------------------------------------ historical averaging (Sec. 3.3)
def test_historical_mean_is_exact_and_penalty_starts_at_zero():
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    history = HistoricalAverage(net)
    assert history.penalty(net).item() == 0.0  # t = 1: the mean is θ[1] itself
    snapshots = [params_of(net)]
    opt = torch.optim.SGD(net.parameters(), lr=0.3)
    for _ in range(6):
        opt.zero_grad()
        (net(torch.randn(8, 3)).pow(2).mean() + history.penalty(net)).backward()
        opt.step()
        history.update_(net)
        snapshots.append(params_of(net))
    assert int(history.count) == 7
    expected_means = [torch.stack([s[i].double() for s in snapshots]).mean(0) for i in range(len(snapshots[0]))]
    for mean, expected in zip(history.means(), expected_means):
        torch.testing.assert_close(mean.double(), expected, rtol=1e-6, atol=1e-7)
    expected_penalty = sum((p.detach().double() - m).pow(2).sum() for p, m in zip(net.parameters(), expected_means))
    assert history.penalty(net).item() == pytest.approx(expected_penalty.item(), rel=1e-4)
    # d/dθ ‖θ − mean‖² = 2 (θ − mean): the means are constants
    (grad,) = torch.autograd.grad(history.penalty(net), [next(net.parameters())])
    torch.testing.assert_close(grad.double(), 2 * (next(net.parameters()).detach().double() - expected_means[0]), rtol=1e-5, atol=1e-6)


class RecordDParams(L.Callback):
    """θ_D after every batch (one D step per batch with n_critic = 1)."""

    def __init__(self, snapshots: list) -> None:
        self.snapshots = snapshots

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.snapshots.append(params_of(pl_module.discriminator))


def test_historical_averages_continue_across_a_resume(tmp_path):
    loader = lambda: random_loader(SHAPE, n=16, num_classes=None)  # noqa: E731  (2 batches = 4 steps per epoch)
    weights = dict(d_historical_weight=0.5, g_historical_weight=0.5)
    first = build(**weights)
    snapshots = [params_of(first.discriminator)]  # θ[1]
    trainer = tiny_trainer(tmp_path, max_steps=4, callbacks=[RecordDParams(snapshots)])
    trainer.fit(first, loader())
    trainer.save_checkpoint(tmp_path / "half.ckpt")

    resumed = build(**weights)  # a fresh init: everything must come from the checkpoint
    tiny_trainer(tmp_path, max_steps=8, callbacks=[RecordDParams(snapshots)]).fit(
        resumed, loader(), ckpt_path=str(tmp_path / "half.ckpt")
    )
    assert len(snapshots) == 5 and int(resumed.d_history.count) == 5  # θ[1] + 4 D steps, 2 before and 2 after
    for i, mean in enumerate(resumed.d_history.means()):  # (1/t) Σ θ[i] over the whole history, in float64
        expected = torch.stack([s[i].double() for s in snapshots]).mean(0)
        torch.testing.assert_close(mean.double(), expected, rtol=1e-6, atol=1e-7)


def test_historical_averaging_runs_under_mixed_precision(tmp_path):
    model = build(d_historical_weight=1.0, g_historical_weight=1.0)
    tiny_trainer(tmp_path, max_steps=6, precision="bf16-mixed").fit(model, random_loader(SHAPE, n=32, num_classes=None))
    for history, net in ((model.d_history, model.discriminator), (model.g_history, model.generator)):
        assert all(m.dtype == torch.float32 for m in history.means())
        assert torch.isfinite(history.penalty(net)) and history.penalty(net) > 0


# ------------------------------------------------------------------------------ feature matching (Sec. 3.1)
class ProbedImprovedGAN(ImprovedGAN):
    """Records, around each G update, whether G's and D's parameters and D's gradients changed."""

    @staticmethod
    def d_grads(net):
        return [torch.zeros(0) if p.grad is None else p.grad.clone() for p in net.parameters()]

    def g_loss(self, real, fake, labels):
        self._before = (params_of(self.generator), params_of(self.discriminator), self.d_grads(self.discriminator))
        return super().g_loss(real, fake, labels)

    def after_g_step(self, stats):
        super().after_g_step(stats)
        g0, d0, grads0 = self._before
        changed = (not same(g0, params_of(self.generator)), not same(d0, params_of(self.discriminator)), not same(grads0, self.d_grads(self.discriminator)))
        self.records = getattr(self, "records", []) + [changed]


def test_feature_matching_trains_g_only(tmp_path):
    from gan_zoo.registry import instantiate_from_config, model_config

    config = model_config("improved_gan", **NETS, **{**ALL_OFF, "feature_matching": True})
    model = instantiate_from_config(ProbedImprovedGAN, config)
    tiny_trainer(tmp_path, max_steps=6).fit(model, random_loader(SHAPE, n=32, num_classes=None))
    # G moved; D's weights and its gradients (left from its own step) untouched by the G step
    assert model.records == [(True, False, False)] * 3


def test_feature_matching_loss_is_the_paper_objective_and_ignores_the_real_graph():
    model = build(feature_matching=True)
    real = torch.randn(6, *SHAPE, requires_grad=True)
    fake = model.generator(torch.randn(6, 8))
    loss, _ = model.g_loss(real, fake, None)
    expected = (model.features(real).mean(0) - model.features(fake).mean(0)).pow(2).sum()  # ‖E f(x) − E f(G(z))‖²
    torch.testing.assert_close(loss, expected)
    grads = torch.autograd.grad(loss, [real, *model.generator.parameters()], allow_unused=True)
    assert grads[0] is None and any(g is not None and g.abs().sum() > 0 for g in grads[1:])


# ------------------------------------------------------------------------------ one-sided label smoothing (Sec. 3.4)
def test_label_smoothing_switch_sets_the_real_target_only():
    model = build(minibatch_kernels=0, real_label=0.9)
    model.discriminator.eval()
    real, fake = torch.randn(4, *SHAPE), torch.randn(4, *SHAPE)
    lr, lf = model.discriminator(real).double(), model.discriminator(fake).double()
    sig = torch.sigmoid
    expected = -(0.9 * sig(lr).log() + 0.1 * (1 - sig(lr)).log()).mean() - (1 - sig(lf)).log().mean()
    assert model.d_loss(real, fake, None)[0].item() == pytest.approx(expected.item(), rel=1e-5)
    assert create_model("improved_gan", tiny=True).hparams.real_label == 0.9  # the paper's α by default


# ------------------------------------------------------------------------------ every switch, on and off
SWITCHES = {
    "plain": {},
    "feature_matching": {"feature_matching": True},
    "minibatch": {"minibatch_kernels": 4},
    "historical": {"d_historical_weight": 0.1, "g_historical_weight": 0.1},
    "smoothing": {"real_label": 0.9},
    "vbn": {"norm": "virtual_batch"},
    "all": {"feature_matching": True, "minibatch_kernels": 4, "d_historical_weight": 0.1, "g_historical_weight": 0.1, "real_label": 0.9, "norm": "virtual_batch"},
}


@pytest.mark.parametrize("switch", list(SWITCHES))
def test_each_switch_runs_fast_dev_run(switch, tmp_path):
    overrides = {**ALL_OFF, **SWITCHES[switch]}
    norm = overrides.pop("norm", "batch")
    model = build(norm=norm, **overrides)
    assert isinstance(model.discriminator, MinibatchDiscriminator) == (overrides["minibatch_kernels"] > 0)
    assert (model.d_history is not None) == (overrides["d_historical_weight"] > 0)
    assert (model.generator.reference_z is not None) == (norm == "virtual_batch")
    g0 = params_of(model.generator)
    tiny_trainer(tmp_path, fast_dev_run=True).fit(model, random_loader(SHAPE, n=16, num_classes=None))
    assert model.num_g_updates == 1 and not same(g0, params_of(model.generator))
    assert torch.isfinite(model.sample(2, seed=0)).all()


def test_minibatch_features_send_gradient_into_ds_body():
    """Sec. 3.2: o(x) is computed from D's hidden layer f(x) and trained with it, so D's body learns features
    that expose a collapsed batch. With the head's weights on f(x) set to zero, the logit depends on the body
    only through o(f(x)): the body's gradient equals autograd through the plain formula
    head(cat[f, o(f)]) written here, and is not zero."""
    torch.manual_seed(0)
    inner = DCGANDiscriminator(SHAPE, base_channels=4)
    wrapped = MinibatchDiscriminator(inner, num_kernels=5, kernel_dim=2)
    x = torch.randn(6, *SHAPE)
    with torch.no_grad():
        wrapped.head.weight[:, : wrapped.minibatch.in_features] = 0.0
    wrapped(x).sum().backward()
    body = [p for p in inner.parameters() if p.grad is not None and p.grad.abs().sum() > 0]
    assert body, "no gradient reached D's body through the minibatch features"
    grads = [None if p.grad is None else p.grad.clone() for p in inner.parameters()]
    inner.zero_grad(set_to_none=True)
    f = inner.features(x)
    wrapped.head(torch.cat([f, wrapped.minibatch(f)], 1)).sum().backward()  # the formula, f not detached
    for got, want in zip(grads, [p.grad for p in inner.parameters()]):  # (D's own logit layer: None in both)
        assert (got is None) == (want is None)
        if got is not None:
            torch.testing.assert_close(got, want)


@pytest.mark.parametrize("prior", ["normal", "uniform"])
def test_vbn_reference_batch_follows_the_latent_prior(prior, tmp_path):
    """The reference batch R is drawn from G's own prior (the live z's), from the generator's reference seed:
    R's statistics must describe the inputs G normalises with them."""
    model = build(norm="virtual_batch", latent_prior=prior)
    tiny_trainer(tmp_path, max_steps=2).fit(model, random_loader(SHAPE, n=16, num_classes=None))
    reference = model.generator.reference_z
    rng = torch.Generator().manual_seed(model.generator.reference_seed)
    n, z = reference.shape
    expected = torch.randn(n, z, generator=rng) if prior == "normal" else torch.rand(n, z, generator=rng) * 2 - 1
    assert torch.equal(reference, expected)
