"""WGAN (weight clipping) and WGAN-GP: losses, clipping, the n_critic schedule, the penalty in the model,
and WGAN-GP under 2-process CPU DDP."""

from __future__ import annotations

import os
import socket
from functools import partial
from pathlib import Path

import lightning as L
import pytest
import torch
import torch.multiprocessing as mp
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gan_zoo import WGAN, WGANGP, create_model
from gan_zoo.losses import d_wasserstein_loss, g_wasserstein_loss
from gan_zoo.models.wgan import reference_critic_steps
from gan_zoo.nets import DCGANDiscriminator, MLPDiscriminator, MLPGenerator


def toy_nets(hidden=(16, 16)) -> dict[str, torch.nn.Module]:
    return {
        "generator": MLPGenerator(latent_dim=2, image_shape=(2,), hidden=hidden, output="identity"),
        "discriminator": MLPDiscriminator(image_shape=(2,), hidden=hidden, dropout=0.0),
    }


def fit(
    model: L.LightningModule, batches: int, tmp_path: Path, batch_size: int = 8, callbacks=(), precision: str = "32-true"
) -> L.Trainer:
    """Train on ``batches`` batches of 2-D points (one D step each)."""
    data = TensorDataset(torch.randn(batches * batch_size, *model.generator.image_shape))
    trainer = L.Trainer(
        max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, accelerator="cpu", default_root_dir=tmp_path, log_every_n_steps=1, callbacks=list(callbacks),
        precision=precision,
    )
    trainer.fit(model, DataLoader(data, batch_size=batch_size))
    return trainer


def test_wasserstein_losses_are_the_score_gaps():
    real, fake = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([-1.0, 0.5])
    assert d_wasserstein_loss(real, fake).item() == pytest.approx((-1.0 + 0.5) / 2 - 2.0)
    assert g_wasserstein_loss(fake).item() == pytest.approx(0.25)


class RecordingWGAN(WGAN):
    """Records, around every critic update, D's largest weight before and after clipping, and checks
    that the G step leaves D untouched."""

    def on_gan_fit_start(self) -> None:
        self.before_clip: list[float] = []
        self.after_clip: list[float] = []
        self.d_changed_by_g: list[bool] = []
        self.g_max: list[float] = []

    def after_d_step(self, stats) -> None:
        self.before_clip.append(max(p.abs().max().item() for p in self.discriminator.parameters()))
        super().after_d_step(stats)
        self.after_clip.append(max(p.abs().max().item() for p in self.discriminator.parameters()))
        self.d_snapshot = [p.detach().clone() for p in self.discriminator.parameters()]

    def after_g_step(self, stats) -> None:
        super().after_g_step(stats)
        self.d_changed_by_g.append(
            any(not torch.equal(a, b) for a, b in zip(self.d_snapshot, self.discriminator.parameters()))
        )
        self.g_max.append(max(p.abs().max().item() for p in self.generator.parameters()))


def test_clipping_holds_after_every_critic_step_and_g_steps_leave_d_alone(tmp_path):
    torch.manual_seed(0)
    nets = toy_nets()
    # A large critic lr so that every RMSProp step leaves the box and clipping has work to do.
    model = RecordingWGAN(**nets, d_optimizer=partial(torch.optim.RMSprop, lr=0.05), n_critic=2, clip_value=0.01)
    fit(model, batches=10, tmp_path=tmp_path)
    assert len(model.after_clip) == 10 and len(model.d_changed_by_g) == 5
    assert all(v > 0.01 for v in model.before_clip), "the optimizer should push weights out of [-c, c]"
    assert all(v <= 0.01 for v in model.after_clip)  # Alg. 1 line 7, after every critic step
    assert not any(model.d_changed_by_g)  # G steps do not touch (or re-clip) the critic
    assert all(v > 0.01 for v in model.g_max)  # the generator is never clipped


@pytest.mark.parametrize("n_critic", [1, 5, 3])
def test_n_critic_counting(tmp_path, n_critic):
    torch.manual_seed(0)
    model = WGAN(**toy_nets(), n_critic=n_critic)
    trainer = fit(model, batches=4 * n_critic + (n_critic - 1), tmp_path=tmp_path)  # a partial streak at the end
    assert int(model.g_updates) == 4
    assert int(model.d_updates) == 4 * n_critic + (n_critic - 1)
    assert int(model.critic_streak) == n_critic - 1
    assert trainer.global_step == int(model.d_updates) + int(model.g_updates)  # the unit of max_steps


def test_reference_schedule(tmp_path):
    # The authors' code: 100 critic iterations before each of the first 25 generator iterations and every 500th.
    expected = [100 if (i < 25 or i % 500 == 0) else 5 for i in range(1100)]
    assert [reference_critic_steps(i, 5) for i in range(1100)] == expected
    torch.manual_seed(0)
    model = WGAN(**toy_nets(), reference_schedule=True)
    fit(model, batches=205, tmp_path=tmp_path, batch_size=2)
    assert (int(model.d_updates), int(model.g_updates)) == (205, 2)  # G steps after critic steps 100 and 200


def test_wasserstein_estimate_is_logged(tmp_path):
    torch.manual_seed(0)
    model = WGAN(**toy_nets(), n_critic=1)
    trainer = fit(model, batches=1, tmp_path=tmp_path)
    # One batch: the logged estimate is −(critic loss) = E[D(x)] − E[D(x̃)].
    assert trainer.callback_metrics["train/wasserstein"].item() == pytest.approx(-trainer.callback_metrics["train/d_loss"].item())


def test_wgan_defaults_are_the_papers():
    model = create_model("wgan", tiny=True)
    g_opt, d_opt = model.configure_optimizers()
    assert isinstance(d_opt, torch.optim.RMSprop) and d_opt.defaults["lr"] == 5e-5
    assert isinstance(g_opt, torch.optim.RMSprop) and g_opt.defaults["lr"] == 5e-5
    assert model.hparams.n_critic == 5 and model.hparams.clip_value == 0.01
    assert max(p.abs().max().item() for p in model.discriminator.parameters()) <= 0.01


# ------------------------------------------------------------------------------------------- WGAN-GP


@pytest.mark.filterwarnings("ignore:.*self.log.*")  # d_loss logs; here it is called outside a Trainer
def test_wgan_gp_critic_loss_matches_paper_equation():
    # With a linear critic D(x) = w·x + b the penalty is (‖w‖ − 1)² for any interpolate, so Eq. 3 can be
    # written out independently of the random ε.
    torch.manual_seed(0)
    g = MLPGenerator(latent_dim=2, image_shape=(2,), hidden=(8,), output="identity")
    d = MLPDiscriminator(image_shape=(2,), hidden=(), dropout=0.0)  # a single Linear(2, 1)
    model = WGANGP(generator=g, discriminator=d, gp_weight=10.0)
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    loss, stats = model.d_loss(real, fake, None)
    w, b = d.head.weight.detach().double().squeeze(0), d.head.bias.detach().double()
    critic = lambda x: x.double() @ w + b  # noqa: E731
    expected = critic(fake).mean() - critic(real).mean() + 10.0 * (w.norm() - 1) ** 2
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert stats["gradient_penalty"].item() == pytest.approx(((w.norm() - 1) ** 2).item(), rel=1e-5)


def test_wgan_gp_defaults_and_batch_norm_rejected():
    model = create_model("wgan_gp", tiny=True)
    g_opt, d_opt = model.configure_optimizers()
    assert isinstance(d_opt, torch.optim.Adam) and d_opt.defaults["lr"] == 1e-4 and d_opt.defaults["betas"] == (0.0, 0.9)
    assert model.hparams.n_critic == 5 and model.hparams.gp_weight == 10.0
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.discriminator.modules())
    with pytest.raises(ValueError, match="batch norm"):
        WGANGP(generator=model.generator, discriminator=DCGANDiscriminator(image_shape=(3, 32, 32), base_channels=8))


def test_layer_norm_critic_scores_each_sample_alone():
    torch.manual_seed(0)
    critic = create_model("wgan_gp", tiny=True).discriminator
    x = torch.randn(6, 3, 32, 32)
    torch.testing.assert_close(critic(x)[:2], critic(x[:2]), rtol=1e-5, atol=1e-6)  # no batch statistics


def critic_gradient_norms(critic: nn.Module, points: torch.Tensor) -> torch.Tensor:
    """‖∇_x D(x)‖₂ per point, computed here with plain autograd (independent of gradient_penalty)."""
    x = points.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x)
    return grad.flatten(1).norm(dim=1)


def test_wgan_gp_trains_and_penalty_pulls_norms_to_one(tmp_path):
    """Two fits from the same weights and data, λ = 10 and λ = 0: only the penalized critic ends with
    input-gradient norms near 1 on the interpolates. If the penalty carried no gradient (computed
    without create_graph, or detached), both critics would train alike and this would fail."""
    results = {}
    for gp_weight in (10.0, 0.0):
        torch.manual_seed(0)
        model = WGANGP(
            **toy_nets((32, 32)), gp_weight=gp_weight, d_optimizer=partial(torch.optim.Adam, lr=1e-3, betas=(0.0, 0.9))
        )
        trainer = fit(model, batches=150, tmp_path=tmp_path, batch_size=32)
        assert (int(model.d_updates), int(model.g_updates)) == (150, 30)
        metrics = trainer.callback_metrics
        assert torch.isfinite(metrics["train/gradient_penalty"]) and torch.isfinite(metrics["train/wasserstein"])
        g = torch.Generator().manual_seed(1)
        real = torch.randn(512, 2, generator=g)
        with torch.no_grad():
            fake = model.generator(torch.randn(512, 2, generator=g))
        eps = torch.rand(512, 1, generator=g)
        norms = critic_gradient_norms(model.discriminator, eps * real + (1 - eps) * fake)
        results[gp_weight] = (norms - 1).pow(2).mean().item()  # E[(‖∇D(x̂)‖ − 1)²], Eq. 3 without λ
    assert results[10.0] < 0.1, f"penalized critic: E[(‖∇D‖ − 1)²] = {results[10.0]:.3f}"
    assert results[10.0] < 0.2 * results[0.0], f"the penalty did not change the critic: {results}"


class ScoreDtypes(WGANGP):
    def d_loss(self, real, fake, labels):
        self.score_dtype = self.discriminate(real).dtype  # what autocast makes of the critic outside the penalty
        loss, stats = super().d_loss(real, fake, labels)
        self.penalty = stats["gradient_penalty"]
        return loss, stats


def test_wgan_gp_penalty_stays_float32_under_bf16_mixed(tmp_path):
    torch.manual_seed(0)
    model = ScoreDtypes(**toy_nets())
    fit(model, batches=3, tmp_path=tmp_path, precision="bf16-mixed")
    assert model.score_dtype == torch.bfloat16  # autocast was active in the critic step
    assert model.penalty.dtype == torch.float32 and torch.isfinite(model.penalty)
    assert int(model.d_updates) == 3


# ------------------------------------------------------------------------------------------- DDP

DDP_BATCHES = 6


def _ddp_data() -> TensorDataset:
    return TensorDataset(torch.randn(DDP_BATCHES * 4, 3, 32, 32, generator=torch.Generator().manual_seed(7)))


class PenaltyLog(L.Callback):
    def __init__(self) -> None:
        self.penalties: list[float] = []

    def on_train_start(self, trainer, pl_module) -> None:
        # GANModule gives each DDP rank its own noise stream (on_fit_start); this test wants the same z
        # and ε on every rank and in the 1-process reference, so all of them are reseeded alike here.
        L.seed_everything(0, verbose=False)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.penalties.append(float(outputs["gradient_penalty"]))  # the step's stats, returned by training_step


def _train_wgan_gp(devices: int, strategy: str | None) -> tuple[list[float], list[torch.Tensor]]:
    torch.set_num_threads(1)
    L.seed_everything(0, verbose=False)
    model = create_model("wgan_gp", tiny=True, n_critic=2)
    log = PenaltyLog()
    trainer = L.Trainer(
        accelerator="cpu", devices=devices, strategy=strategy or "auto", max_epochs=1, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        use_distributed_sampler=False, callbacks=[log],  # every rank sees the same batches
    )
    trainer.fit(model, DataLoader(_ddp_data(), batch_size=4))
    return log.penalties, [p.detach().clone() for p in model.discriminator.parameters()]


def _ddp_worker(rank: int, port: int, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE="2", RANK=str(rank),
                      LOCAL_RANK=str(rank), NODE_RANK="0")  # launched externally, as torchrun would
    penalties, params = _train_wgan_gp(devices=2, strategy="ddp_find_unused_parameters_true")
    torch.save({"penalties": penalties, "params": params}, Path(out_dir) / f"rank{rank}.pt")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_wgan_gp_ddp_two_processes_same_penalty_on_every_rank(tmp_path):
    mp.spawn(_ddp_worker, args=(_free_port(), str(tmp_path)), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    assert len(ranks[0]["penalties"]) == DDP_BATCHES
    assert ranks[0]["penalties"] == ranks[1]["penalties"]  # same data -> bit-identical penalty per step
    for a, b in zip(ranks[0]["params"], ranks[1]["params"]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)  # critic kept in sync through the double backward
    # Same data on both ranks: the all-reduced (averaged) gradients equal one process's, so the run
    # matches a single-process reference step for step.
    penalties, params = _train_wgan_gp(devices=1, strategy=None)
    assert ranks[0]["penalties"] == pytest.approx(penalties, rel=1e-4, abs=1e-6)
    for a, b in zip(ranks[0]["params"], params):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_critic_norm_layers_are_layer_norm_over_channels_and_space():
    # Gulrajani et al. 2017, Sec. 4: layer normalization in the critic, i.e. statistics over all of (C, H, W) of
    # one sample. Instance norm (statistics per sample *and channel*) is per-sample too, so the batch-independence
    # test above cannot tell them apart; compare each norm layer with layer norm written out in float64.
    torch.manual_seed(0)
    critic = create_model("wgan_gp", tiny=True).discriminator
    norms = [m for m in critic.modules() if isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm,
                                                         nn.modules.instancenorm._InstanceNorm))]
    assert norms, "the WGAN-GP critic normalizes its hidden layers"
    seen = []
    for m in norms:
        with torch.no_grad():  # a per-channel scale and shift that are not (1, 0), so their axis is checked too
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.5, 0.5)
        # clone: the LeakyReLU after it works in place on this output
        m.register_forward_hook(lambda mod, args, out: seen.append((mod, args[0].detach().clone(), out.detach().clone())))
    x = torch.randn(3, 3, 32, 32)
    x[1] += 2.0  # samples on different scales, channels with different means: instance norm would differ
    x[:, 0] *= 3.0
    with torch.no_grad():
        critic(x)
    assert len(seen) == len(norms)
    for mod, h, out in seen:
        h = h.double()
        mean = h.mean(dim=(1, 2, 3), keepdim=True)
        var = h.var(dim=(1, 2, 3), unbiased=False, keepdim=True)
        gamma, beta = mod.weight.double().view(1, -1, 1, 1), mod.bias.double().view(1, -1, 1, 1)
        expected = (h - mean) / torch.sqrt(var + 1e-5) * gamma + beta  # eps 1e-5: torch's default for the norms
        torch.testing.assert_close(out.double(), expected, rtol=1e-5, atol=1e-5)
