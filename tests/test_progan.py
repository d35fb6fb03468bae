"""Progressive GAN: layers against hand computations, growth and fade-in of G and D, the real-image blend,
the schedule against hand-worked numbers, the drift term."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gan_zoo.nets.progan import (
    EqualizedConv2d,
    EqualizedLinear,
    MinibatchStdDev,
    PixelNorm,
    ProGANDiscriminator,
    ProGANGenerator,
    progan_widths,
    real_images_at,
)
from gan_zoo.progressive import PAPER_BATCH_SIZES, GrowthSchedule
from gan_zoo.regularizers import drift_penalty

TINY = dict(channel_base=128, max_channels=16)  # widths 16, 16, 8, 4 for 4, 8, 16, 32


def tiny_nets(resolution: int = 32, channels: int = 1, seed: int = 0):
    torch.manual_seed(seed)
    g = ProGANGenerator(latent_dim=8, image_shape=(channels, resolution, resolution), **TINY)
    d = ProGANDiscriminator(image_shape=(channels, resolution, resolution), **TINY)
    return g, d


def nearest_up(x: torch.Tensor) -> torch.Tensor:
    """×2 nearest upsampling written plainly: every pixel repeated into a 2×2 block."""
    return x.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)


def block_mean(x: torch.Tensor, f: int) -> torch.Tensor:
    """f×f average pooling written plainly as a reshape and a mean."""
    b, c, h, w = x.shape
    return x.reshape(b, c, h // f, f, w // f, f).mean(dim=(3, 5))


# ----------------------------------------------------------------------------------------- layers
def test_paper_widths_follow_table_2():
    # Karras 2018, Table 2: 512 up to 32×32, then 256, 128, 64, 32, 16.
    assert progan_widths(1024) == [512, 512, 512, 512, 256, 128, 64, 32, 16]
    assert progan_widths(32, **TINY) == [16, 16, 8, 4]


def test_equalized_lr_scale_is_he_constant_for_conv_and_linear():
    torch.manual_seed(0)
    conv = EqualizedConv2d(64, 32, 3)
    lin = EqualizedLinear(200, 50)
    # weights are stored as N(0, 1) draws, biases start at zero
    for w in (conv.weight, lin.weight):
        assert abs(w.std().item() - 1.0) < 0.05 and abs(w.mean().item()) < 0.05
    assert conv.bias.abs().max() == 0 and lin.bias.abs().max() == 0
    assert conv.scale == pytest.approx(math.sqrt(2 / (64 * 3 * 3)), rel=1e-12)
    assert lin.scale == pytest.approx(math.sqrt(2 / 200), rel=1e-12)
    # ... and the scale is applied at run time: the forward equals a plain layer with w·√(2/fan_in)
    x = torch.randn(2, 64, 5, 5, dtype=torch.float64)
    conv.double()
    expected = F.conv2d(x, conv.weight.detach() * math.sqrt(2 / 576), conv.bias.detach(), padding=1)
    torch.testing.assert_close(conv(x), expected)
    v = torch.randn(3, 200, dtype=torch.float64)
    lin.double()
    torch.testing.assert_close(lin(v), v @ (lin.weight.detach() * math.sqrt(2 / 200)).T)


def test_pixel_norm_gives_unit_mean_square_per_pixel():
    x = torch.randn(4, 12, 5, 5) * torch.logspace(-2, 2, 4).view(4, 1, 1, 1)  # very different magnitudes
    y = PixelNorm()(x)
    mean_square = x.double().pow(2).mean(dim=1)  # (B, H, W)
    expected = mean_square / (mean_square + 1e-8)  # Eq. 2 with its ε: 1 up to ε / a², visible at a ≈ 0.01
    torch.testing.assert_close(y.double().pow(2).mean(dim=1), expected, rtol=1e-5, atol=1e-6)
    assert (y[1:].pow(2).mean(dim=1) - 1).abs().max() < 1e-5
    torch.testing.assert_close(PixelNorm()(3 * x[1:]), y[1:], rtol=1e-5, atol=1e-6)  # scale invariant (a >> √ε)


def hand_minibatch_std(x: np.ndarray, group_size: int) -> np.ndarray:
    """Sec. 3 in float64 loops: per group, std over the group's samples of every (c, h, w), averaged."""
    b = x.shape[0]
    groups = b // group_size
    out = np.zeros(b)
    for m in range(groups):
        members = [i for i in range(b) if i % groups == m]
        stds = [
            math.sqrt(np.var(x[members, c, h, w]) + 1e-8)  # np.var: the biased 1/G variance
            for c in range(x.shape[1]) for h in range(x.shape[2]) for w in range(x.shape[3])
        ]
        out[members] = sum(stds) / len(stds)
    return out


@pytest.mark.parametrize("group_size", [None, 2])
def test_minibatch_stddev_adds_the_average_std_channel(group_size):
    torch.manual_seed(0)
    x = torch.randn(6, 3, 4, 4) * 2 + 1
    y = MinibatchStdDev(group_size)(x)
    assert y.shape == (6, 4, 4, 4)
    torch.testing.assert_close(y[:, :3], x)  # the features pass through
    expected = hand_minibatch_std(x.double().numpy(), group_size or 6)  # (B,)
    extra = y[:, 3].double()  # (B, 4, 4): one constant map per sample
    torch.testing.assert_close(extra, torch.from_numpy(expected).view(6, 1, 1).expand(6, 4, 4), rtol=1e-5, atol=1e-6)


def test_drift_term_is_mean_square_of_real_scores():
    scores = torch.tensor([1.0, -2.0, 0.5, 3.0])
    assert drift_penalty(scores).item() == pytest.approx((1 + 4 + 0.25 + 9) / 4)


# ----------------------------------------------------------------------------------------- growth
@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_output_shapes_at_every_stage(alpha):
    g, d = tiny_nets(resolution=32, channels=3)
    z = torch.randn(4, 8)
    for stage, size in enumerate([4, 8, 16, 32]):
        x = g(z, stage, alpha)
        assert x.shape == (4, 3, size, size)
        assert d(x, stage, alpha).shape == (4,)
    assert g(z).shape == (4, 3, 32, 32)  # defaults: final stage, α = 1
    assert d(g(z)).shape == (4,)


def test_1024_generator_grows_to_full_resolution_at_tiny_widths():
    g = ProGANGenerator(latent_dim=4, image_shape=(3, 1024, 1024), channel_base=64, max_channels=4)
    d = ProGANDiscriminator(image_shape=(3, 1024, 1024), channel_base=64, max_channels=4)
    assert g.num_stages == 9
    x = g(torch.randn(1, 4))
    assert x.shape == (1, 3, 1024, 1024)
    assert d(torch.cat([x, x]).detach()).shape == (2,)


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_generator_at_alpha_0_is_the_upsampled_previous_stage(stage):
    g, _ = tiny_nets()
    z = torch.randn(4, 8)
    torch.testing.assert_close(g(z, stage, 0.0), nearest_up(g(z, stage - 1, 1.0)), rtol=0, atol=0)


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_generator_at_alpha_1_gets_nothing_from_the_old_torgb(stage):
    g, _ = tiny_nets()
    z = torch.randn(4, 8)
    before = g(z, stage, 1.0)
    halfway = g(z, stage, 0.5)
    with torch.no_grad():
        g.to_rgb[stage - 1].weight.fill_(float("nan"))  # any use of the old path would poison the output
    torch.testing.assert_close(g(z, stage, 1.0), before, rtol=0, atol=0)
    assert torch.isnan(g(z, stage, 0.5)).all() and not torch.isnan(halfway).any()


def test_generator_fade_is_linear_in_alpha():
    g, _ = tiny_nets()
    z = torch.randn(4, 8)
    old, new = g(z, 2, 0.0), g(z, 2, 1.0)
    for alpha in (0.25, 0.7):
        torch.testing.assert_close(g(z, 2, alpha), (1 - alpha) * old + alpha * new, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_discriminator_fade_in_matches_the_previous_stage(stage):
    _, d = tiny_nets()
    x = torch.randn(4, 1, 4 * 2**stage, 4 * 2**stage)
    # α = 0: only the old path, fed the average-pooled image
    torch.testing.assert_close(d(x, stage, 0.0), d(F.avg_pool2d(x, 2), stage - 1, 1.0), rtol=0, atol=0)
    before = d(x, stage, 1.0)
    with torch.no_grad():
        d.from_rgb[stage - 1][0].weight.fill_(float("nan"))
    torch.testing.assert_close(d(x, stage, 1.0), before, rtol=0, atol=0)  # α = 1: old fromRGB unused
    assert torch.isnan(d(x, stage, 0.5)).all()


def test_stage_and_alpha_are_not_buffers_of_the_generator():
    g, _ = tiny_nets()
    assert list(g.buffers()) == []  # the EMA copy averages buffers: nothing of the schedule may live there


def test_bad_stage_or_alpha_is_rejected():
    g, d = tiny_nets()
    with pytest.raises(ValueError, match="stage must be in"):
        g(torch.randn(2, 8), 4, 1.0)
    with pytest.raises(ValueError, match="alpha must be in"):
        g(torch.randn(2, 8), 1, 1.5)
    with pytest.raises(ValueError, match="expects 8×8"):
        d(torch.randn(2, 1, 16, 16), 1, 1.0)


def test_real_images_are_pooled_and_blended_like_the_generator():
    torch.manual_seed(0)
    x = torch.randn(3, 1, 32, 32)
    for stage, size in enumerate([4, 8, 16, 32]):
        torch.testing.assert_close(real_images_at(x, stage, 1.0), block_mean(x, 32 // size))
    # α = 0 is the previous stage's image, nearest-upsampled; in between, the same lerp as G
    torch.testing.assert_close(real_images_at(x, 2, 0.0), nearest_up(block_mean(x, 4)))  # 16×16 from 8×8
    torch.testing.assert_close(
        real_images_at(x, 2, 0.25), 0.75 * nearest_up(block_mean(x, 4)) + 0.25 * block_mean(x, 2)
    )


# ----------------------------------------------------------------------------------------- schedule
def test_schedule_against_hand_worked_numbers():
    # 32×32 (4 stages), the paper's 800k + 800k. Hand-worked timeline:
    #   4×4 stabilize [0, 0.8M) | 8×8 fade [0.8M, 1.6M) stab [1.6M, 2.4M) | 16×16 fade [2.4M, 3.2M) stab
    #   [3.2M, 4.0M) | 32×32 fade [4.0M, 4.8M) stab [4.8M, ∞)
    sched = GrowthSchedule(num_stages=4, learning_rates={32: 0.002})
    cases = [
        (0, 0, "stabilize", 1.0),
        (799_999, 0, "stabilize", 1.0),
        (800_000, 1, "fade_in", 0.0),
        (1_000_000, 1, "fade_in", 0.25),
        (1_200_000, 1, "fade_in", 0.5),
        (1_599_999, 1, "fade_in", 799_999 / 800_000),
        (1_600_000, 1, "stabilize", 1.0),
        (2_400_000, 2, "fade_in", 0.0),
        (2_600_000, 2, "fade_in", 0.25),
        (3_200_000, 2, "stabilize", 1.0),
        (4_400_000, 3, "fade_in", 0.5),
        (4_800_000, 3, "stabilize", 1.0),
        (100_000_000, 3, "stabilize", 1.0),
    ]
    for shown, stage, phase, alpha in cases:
        p = sched.at(shown)
        assert (p.stage, p.phase, p.resolution) == (stage, phase, 4 * 2**stage), shown
        assert p.alpha == alpha, shown  # exact: α is (n − start) / F in python floats
        assert p.batch_size == 16
        assert p.lr == (0.002 if stage == 3 else None)
    assert sched.at(1_200_000).phase_start == 800_000 and sched.at(2_000_000).phase_start == 1_600_000


def test_schedule_alpha_is_continuous_and_reaches_exactly_one():
    sched = GrowthSchedule(num_stages=3, fade_in_images=1000, stabilize_images=600)
    # stage 1 fades in over [600, 1600)
    alphas = [sched.at(n).alpha for n in range(600, 1601)]
    steps = np.diff(alphas)
    assert alphas[0] == 0.0 and alphas[-1] == 1.0
    assert np.all(steps > 0) and np.all(np.abs(steps - 1 / 1000) < 1e-12)  # linear, no jump up to 1 exactly
    assert all(sched.at(n).alpha == 1.0 for n in range(1600, 2200))  # the whole stabilisation phase


def test_schedule_uses_the_new_resolutions_batch_size_during_its_fade_in():
    sched = GrowthSchedule(num_stages=9, batch_sizes=PAPER_BATCH_SIZES, fade_in_images=10, stabilize_images=10)
    # stage s fades in from 10 + 20(s−1): 256×256 is stage 6 → starts at 110
    assert [sched.at(n).batch_size for n in (109, 110, 129, 130, 150, 170)] == [16, 14, 14, 6, 3, 3]
    assert sched.max_batch_size == 16


def test_schedule_rejects_bad_settings():
    with pytest.raises(ValueError, match="outside this schedule"):
        GrowthSchedule(num_stages=2, batch_sizes={16: 4})
    with pytest.raises(ValueError, match="not both 0"):
        GrowthSchedule(num_stages=2, fade_in_images=0, stabilize_images=0)


def test_milestones_are_mid_fade_ins_and_stage_ends():
    sched = GrowthSchedule(num_stages=3, fade_in_images=100, stabilize_images=60)
    assert sched.milestones() == [
        (60, "4x4 end"), (110, "8x8 mid-fade-in"), (220, "8x8 end"), (270, "16x16 mid-fade-in"),
    ]


# ----------------------------------------------------------------------------------------- the model
from pathlib import Path  # noqa: E402

from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from gan_zoo import ProGAN, create_model  # noqa: E402
from gan_zoo.errors import GanZooError  # noqa: E402
from helpers import tiny_trainer  # noqa: E402

# 16×16 final resolution (3 stages), widths 8, 8, 4. Schedule: 24 images per phase; batch 8, then 4 at 16×16.
#   4×4 [0, 24) | 8×8 fade [24, 48), stabilize [48, 72) | 16×16 fade [72, 96) ...
SMALL = dict(fade_in_images=24, stabilize_images=24, batch_sizes={4: 8, 8: 8, 16: 4}, learning_rates={16: 0.002})


def small_model(seed: int = 0, **overrides) -> ProGAN:
    torch.manual_seed(seed)
    nets = {"image_shape": [1, 16, 16], "channel_base": 64, "max_channels": 8}
    return create_model(
        "progan",
        generator={"init_args": {"latent_dim": 8, **nets}},
        discriminator={"init_args": nets},
        **{**SMALL, **overrides},
    )


def images_loader(n: int = 16, batch_size: int = 8) -> DataLoader:
    g = torch.Generator().manual_seed(1)
    return DataLoader(TensorDataset(torch.rand(n, 1, 16, 16, generator=g) * 2 - 1), batch_size=batch_size)


def state_of(model: ProGAN) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_paper_defaults():
    model = create_model("progan", tiny=True)
    assert model.hparams.n_critic == 1 and model.hparams.gp_weight == 10 and model.hparams.drift_weight == 0.001
    assert model.generator_ema is not None  # EMA 0.999 on by default
    g_opt, d_opt = model.configure_optimizers()
    for opt in (g_opt, d_opt):
        assert opt.defaults["lr"] == 1e-3 and opt.defaults["betas"] == (0.0, 0.99)
    default = ProGAN.__init__.__kwdefaults__
    assert default["fade_in_images"] == 800_000 == default["stabilize_images"] and default["ema_decay"] == 0.999
    assert model.schedule.batch_sizes == {4: 16, 8: 16, 16: 16, 32: 16}  # the paper's, up to 32×32


class Recording(ProGAN):
    """Records what D was shown at every step."""

    def on_gan_fit_start(self) -> None:
        super().on_gan_fit_start()
        self.seen: list[tuple[int, float, torch.Tensor]] = []

    def d_loss(self, real, fake, labels):
        point = self.growth
        self.seen.append((point.stage, point.alpha, real.detach().clone()))
        return super().d_loss(real, fake, labels)


def test_training_shows_blended_reals_at_the_scheduled_stage_and_batch_size(tmp_path):
    model = small_model()
    model.__class__ = Recording  # same init, recording subclass
    loader = images_loader()
    full = torch.cat([b[0] for b in loader])  # (16, 1, 16, 16) in loader order
    trainer = tiny_trainer(tmp_path, max_epochs=6)
    trainer.fit(model, loader)
    # Hand count: 9 batches of 8 reach 72 (the 16×16 fade-in), then 3 batches of 4 images: 84.
    assert [(s, a) for s, a, _ in model.seen] == [
        (0, 1.0), (0, 1.0), (0, 1.0), (1, 0.0), (1, 8 / 24), (1, 16 / 24),
        (1, 1.0), (1, 1.0), (1, 1.0), (2, 0.0), (2, 4 / 24), (2, 8 / 24),
    ]
    assert model.num_images_shown == 84 and int(model.images_shown) == 84
    for step, (stage, alpha, real) in enumerate(model.seen):
        batch = full[(step % 2) * 8:][: 8 if stage < 2 else 4]  # the first b images of the loader's batch
        torch.testing.assert_close(real, real_images_at(batch, stage, alpha))
    # the per-resolution learning rate of 16×16 is in force, on both optimizers
    assert [g["lr"] for opt in trainer.optimizers for g in opt.param_groups] == [0.002, 0.002]
    # a grid per milestone, and one at the end of fit
    names = sorted(p.name for p in (Path(tmp_path) / "progan").glob("*.png"))
    assert names == [
        "000000024_4x4_end.png", "000000036_8x8_mid-fade-in.png", "000000072_8x8_end.png",
        "000000084_16x16_alpha0.500.png", "000000084_16x16_mid-fade-in.png",
    ]


def test_d_loss_is_wgan_gp_plus_drift():
    model = small_model()
    real, fake = torch.rand(8, 1, 4, 4) * 2 - 1, torch.rand(8, 1, 4, 4) * 2 - 1
    torch.manual_seed(3)
    loss, stats = model.d_loss(real, fake, None)
    real_scores = model.discriminator(real, 0, 1.0)
    drift = real_scores.pow(2).mean()  # ε_drift's E[D(x)²], written plainly
    torch.testing.assert_close(stats["drift"], drift.detach())
    torch.testing.assert_close(
        loss.detach(), -stats["wasserstein"] + 10 * stats["gradient_penalty"] + 0.001 * drift.detach()
    )
    assert (model.discriminator(fake, 0, 1.0).mean() - real_scores.mean()).detach() == pytest.approx(-stats["wasserstein"].item(), rel=1e-6)


def test_resume_mid_fade_in_matches_the_uninterrupted_run(tmp_path):
    """Through a stage boundary (and a batch-size and lr change) in one run, and in two runs split in the
    middle of the 8×8 fade-in: identical weights, EMA, optimizer moments and counters."""
    one = small_model()
    tiny_trainer(tmp_path / "a", max_epochs=6).fit(one, images_loader())

    first = small_model()
    trainer = tiny_trainer(tmp_path / "b", max_epochs=2)
    trainer.fit(first, images_loader())
    assert (first.growth.stage, first.growth.alpha) == (1, 8 / 24)  # mid-fade-in
    trainer.save_checkpoint(tmp_path / "mid_fade_in.ckpt")

    second = small_model(seed=123)  # different init: everything must come from the checkpoint
    resumed = tiny_trainer(tmp_path / "c", max_epochs=6)
    resumed.fit(second, images_loader(), ckpt_path=tmp_path / "mid_fade_in.ckpt")

    assert second.num_images_shown == one.num_images_shown == 84
    a, b = state_of(one), state_of(second)
    assert a.keys() == b.keys() and any(k.startswith("generator_ema.") for k in a)
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=0, msg=key)


def test_checkpoint_restores_stage_and_alpha_for_sampling(tmp_path):
    model = small_model()
    trainer = tiny_trainer(tmp_path, max_epochs=2)
    trainer.fit(model, images_loader())
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    loaded = ProGAN.load_from_checkpoint(tmp_path / "m.ckpt")
    assert loaded.num_images_shown == 32 and (loaded.growth.stage, loaded.growth.alpha) == (1, 8 / 24)
    x = loaded.sample(3, seed=0)
    assert x.shape == (3, 1, 16, 16)  # shown at the final size
    # ... as the current stage's 8×8 EMA output, nearest-upsampled
    z = torch.randn(3, 8, generator=torch.Generator().manual_seed(0))
    ema = loaded.generator_ema.module.eval()
    torch.testing.assert_close(x, nearest_up(ema(z, 1, 8 / 24)))


def test_data_of_another_size_is_rejected(tmp_path, data_dir):
    from gan_zoo.data import MNISTDataModule

    model = small_model()
    dm = MNISTDataModule(data_dir=str(data_dir), image_size=32, batch_size=8, limit_samples=16, download=False)
    with pytest.raises(GanZooError, match=r"image_shape"):
        tiny_trainer(tmp_path, max_steps=2).fit(model, datamodule=dm)


def test_a_group_size_that_does_not_divide_a_scheduled_batch_is_refused_before_training():
    # the authors' group of 4 with the paper's batch 14 at 256² would fail only when the run got there
    nets = {"image_shape": [1, 16, 16], "channel_base": 64, "max_channels": 8}
    build = lambda group, sizes: create_model(  # noqa: E731
        "progan", generator={"init_args": {"latent_dim": 8, **nets}},
        discriminator={"init_args": {**nets, "mbstd_group_size": group}}, **{**SMALL, "batch_sizes": sizes},
    )
    with pytest.raises(GanZooError, match=r"batch size 6 at 16x16 is not a multiple of the discriminator's mbstd_group_size 4"):
        build(4, {4: 8, 8: 8, 16: 6})
    for group, sizes in ((4, {4: 8, 8: 12, 16: 4}), (4, {4: 8, 8: 8, 16: 3}), (None, {4: 8, 8: 8, 16: 6})):
        build(group, sizes)  # multiples of the group; a batch smaller than the group is one group; the whole batch


def test_celebahq1024_config_grows_to_1024_at_tiny_widths(tmp_path, image_folder):
    from gan_zoo.cli import cli_main

    config = Path(__file__).parents[1] / "configs" / "progan" / "celebahq1024.yaml"
    tiny = ["--model.init_args.{net}.init_args.channel_base=32", "--model.init_args.{net}.init_args.max_channels=4"]
    args = [
        "fit", "--config", str(config),
        *[a.format(net=net) for net in ("generator", "discriminator") for a in tiny],
        "--model.init_args.generator.init_args.latent_dim=4",
        # 2 images per phase, batch 2 everywhere: 4×4 [0, 2), then stage s fades in from 2 + 4(s − 1)
        "--model.init_args.fade_in_images=2", "--model.init_args.stabilize_images=2",
        "--model.init_args.batch_sizes={4: 2, 8: 2, 16: 2, 32: 2, 64: 2, 128: 2, 256: 2, 512: 2, 1024: 2}",
        "--trainer.max_steps=32",  # 16 batches = 32 images: the last one runs the 1024×1024 fade-in [30, 32)
        "--trainer.callbacks.num_samples=2",  # the config's ProgressiveGrowing
        "--trainer.logger=false", f"--trainer.default_root_dir={tmp_path}",
        f"--data.init_args.data_dir={image_folder}", "--data.init_args.root=celeba",
        "--data.init_args.batch_size=2", "--data.init_args.limit_samples=4",
        "--sample_grid.num_samples=2", "--checkpoint.save_last=false",
    ]
    model = cli_main(args).model
    assert model.num_images_shown == 32
    assert (model.growth.stage, model.growth.alpha, model.growth.resolution) == (8, 1.0, 1024)
    x = model.sample(2, seed=0)
    assert x.shape == (2, 3, 1024, 1024) and x.isfinite().all()
    grids = sorted(p.name for p in (tmp_path / "progan").glob("*.png"))
    assert "000000031_1024x1024_mid-fade-in.png" in grids and len(grids) == 17  # 16 milestones + end of fit


def test_only_a_grown_generator_is_exported(tmp_path):
    from gan_zoo import load_pretrained, save_pretrained

    model = small_model()
    model.load_state_dict({**model.state_dict(), "images_shown": torch.tensor(80)})  # 16×16 fade-in, α = 1/3
    assert (model.growth.stage, model.growth.alpha) == (2, 8 / 24)
    with pytest.raises(GanZooError, match=r"has not grown to 16x16; train to at least 96 images"):
        save_pretrained(model, tmp_path / "early")
    model.load_state_dict({**model.state_dict(), "images_shown": torch.tensor(96)})  # fade-in complete
    save_pretrained(model, tmp_path / "grown")
    assert torch.equal(load_pretrained(tmp_path / "grown").sample(3, seed=1), model.sample(3, seed=1))


def test_features_and_scores_accept_samples_at_the_final_size():
    model = small_model()
    model.load_state_dict({**model.state_dict(), "images_shown": torch.tensor(30)})  # 8×8 fade-in
    x = model.sample(4, seed=0)  # (4, 1, 16, 16): the 8×8 output, upsampled
    small = model.generate_at_stage(torch.randn(4, 8, generator=torch.Generator().manual_seed(0)), model.generator_ema.module.eval())
    torch.testing.assert_close(model.discriminate(x), model.discriminator(small, 1, 6 / 24))
    assert model.features(x).shape == (4, 8)


def test_generator_samples_are_clipped_to_the_data_range_but_train_on_the_linear_output():
    torch.manual_seed(0)
    g = ProGANGenerator(latent_dim=8, image_shape=(1, 16, 16), channel_base=64, max_channels=8)
    with torch.no_grad():
        for layer in g.to_rgb:
            layer.weight.mul_(50.0)  # make the linear output overshoot [-1, 1]
    z = torch.randn(6, 8)
    g.train()
    linear = g(z)
    assert linear.abs().max() > 1.5  # the setup really overshoots; D trains on these values
    g.eval()
    sampled = g(z)
    torch.testing.assert_close(sampled, linear.clamp(-1.0, 1.0))  # what sample() and exports return


def test_milestone_checkpoints_are_whole_resumable_files(tmp_path):
    from gan_zoo.callbacks import ProgressiveGrowing

    trainer = tiny_trainer(tmp_path, max_epochs=3, callbacks=[ProgressiveGrowing(num_samples=2, milestone_checkpoints=True)])
    trainer.fit(small_model(), images_loader())  # 6 batches of 8: 48 images, past the 4x4 end and the 8x8 mid-fade-in
    saved = sorted(p.name for p in (tmp_path / "progan").glob("*.ckpt"))
    assert saved == ["000000024_4x4_end.ckpt", "000000036_8x8_mid-fade-in.ckpt"]
    assert not list(tmp_path.glob("**/.*.tmp"))  # written to a temporary name and renamed
    for name, shown in zip(saved, (24, 40)):  # the milestone is crossed by the batch that reaches it
        state = torch.load(tmp_path / "progan" / name, weights_only=True)
        assert int(state["state_dict"]["images_shown"]) == shown and "optimizer_states" in state


def test_strips_from_a_growing_checkpoint_show_its_current_stage():
    """``gan-zoo sample --ckpt --interpolate`` of a ProGAN still at 4x4 draws what ``sample`` draws (the current
    stage, upsampled), not the final, untrained stage that the net alone computes: a strip's first and last
    columns are the grid's first 2R samples."""
    from gan_zoo.commands import checkpoint_generator

    model = create_model("progan", tiny=True)
    assert model.growth.stage == 0 and model.generator.num_stages > 1  # growing: the test means something
    strip = checkpoint_generator(model, "progan.ckpt").interpolate(2, 3, seed=0)  # (2, 3, C, H, W)
    grid = model.sample(4, seed=0)
    torch.testing.assert_close(strip[:, 0], grid[:2], atol=1e-5, rtol=0)
    torch.testing.assert_close(strip[:, -1], grid[2:], atol=1e-5, rtol=0)
    assert strip.shape[-1] == model.final_resolution


class LrRecording(ProGAN):
    """Records (resolution, lr of every param group of both optimizers) at every D step."""

    def on_gan_fit_start(self) -> None:
        super().on_gan_fit_start()
        self.lrs: list[tuple[int, list[float]]] = []

    def d_loss(self, real, fake, labels):
        self.lrs.append((self.growth.resolution, [g["lr"] for opt in self.trainer.optimizers for g in opt.param_groups]))
        return super().d_loss(real, fake, labels)


def test_a_resolution_without_its_own_lr_goes_back_to_the_optimizers_lr(tmp_path):
    # learning_rates lists 8×8 only: 4×4 and 16×16 train at the optimizers' own lr (the paper's Adam lr 1e-3),
    # not at whatever the previous resolution last set. Same schedule as SMALL otherwise: 3 batches at 4×4,
    # 6 at 8×8 (fade-in and stabilize), 3 at 16×16.
    model = small_model(learning_rates={8: 2e-3})
    model.__class__ = LrRecording
    trainer = tiny_trainer(tmp_path, max_epochs=6)
    trainer.fit(model, images_loader())
    base = 1e-3
    assert all(opt.defaults["lr"] == base for opt in trainer.optimizers)  # the factories' lr
    assert [r for r, _ in model.lrs] == [4] * 3 + [8] * 6 + [16] * 3
    for resolution, lrs in model.lrs:
        assert len(lrs) == 2  # one group per optimizer: G and D
        assert lrs == [2e-3 if resolution == 8 else base] * 2, resolution


def test_generators_first_layer_has_the_he_constant_of_a_4x4_conv_on_z():
    # Appendix A.1: G starts with a "conv 4×4" from the 1×1 latent to a 4×4 map; with equalized lr (Sec. 4.1) its
    # run-time scale is He's constant √(2 / fan_in) with the conv's fan-in 4·4·Z. The authors' code writes it as a
    # dense layer of fan-in Z with gain √2/4, the same number: √2/4 / √Z = √(2 / (16·Z)). A plain √2 gain (the
    # default of every other layer) would make it 4x too large; only the shipped-weights test would notice.
    z_dim = 8
    g, _ = tiny_nets()
    assert g.latent_dim == z_dim
    weighted = []  # layers with weights, in the order the forward runs them
    handles = [
        m.register_forward_hook(lambda mod, args, out: weighted.append((mod, args[0].detach().clone(), out.detach().clone())))
        for m in g.modules() if not list(m.children()) and getattr(m, "weight", None) is not None
    ]
    z = torch.randn(5, z_dim)
    with torch.no_grad():
        g(z, 0, 1.0)
    for h in handles:
        h.remove()
    first, x, out = weighted[0]
    he_4x4_conv_on_z = math.sqrt(2 / (4 * 4 * z_dim))
    assert first.scale == pytest.approx(he_4x4_conv_on_z, rel=1e-12)
    # ... applied at run time: the layer's output is the plain dense map with w·c, in float64
    torch.testing.assert_close(x.double(), (z / z.pow(2).mean(1, keepdim=True).add(1e-8).sqrt()).double(), rtol=1e-6, atol=1e-6)
    expected = x.double() @ (first.weight.detach().double() * he_4x4_conv_on_z).T + first.bias.detach().double()
    assert out.shape == (5, g.widths[0] * 4 * 4)  # W₄·4·4 outputs: a 4×4 map
    torch.testing.assert_close(out.double(), expected, rtol=1e-5, atol=1e-6)
