"""Progressive GAN — Karras, Aila, Laine & Lehtinen, "Progressive Growing of GANs for Improved Quality,
Stability, and Variation", ICLR 2018.

G and D grow together from 4×4 to the final resolution, one doubling per stage; each new block fades in
while α rises linearly from 0 to 1 (Sec. 3, Fig. 2), then trains at α = 1 for a stabilisation phase. The
schedule is a pure function of the number of real images shown to D (``gan_zoo.progressive``); that count,
``images_shown``, is this module's training state (a buffer, mirrored on the host as ``num_images_shown``),
so a checkpoint taken anywhere — mid-fade-in included — resumes at exactly the same stage and α.

Per training batch (Appendix A.1: n_critic = 1, the WGAN-GP loss with λ = 10 and the drift term):

    (s, α, b) ← schedule(images shown)                         stage, fade-in weight, batch size at 4·2^s
    x ← blend_α(avgpool(x_R) to 4·2^s)    first b images       Sec. 3: reals faded in exactly like G's output
    x̃ ← G(z; s, α)
    L_D = E[D(x̃)] − E[D(x)] + λ E[(‖∇_x̂ D(x̂)‖₂ − 1)²] + ε_drift E[D(x)²]      λ = 10, ε_drift = 0.001
    L_G = −E[D(G(z; s, α))]
    images shown += b;  Ĝ ← 0.999·Ĝ + 0.001·G                 the EMA generator (Sec. 4 / A.1)

Adam(α = 0.001, β1 = 0, β2 = 0.99, ε = 1e-8) for both nets; 512-d z; the fade-in is 800k images, and so is
each stabilisation phase; batch 16 up to 128², then 14, 6, 3 (memory, not quality). The progressive fade-in
callback (``gan_zoo.callbacks.ProgressiveGrowing``, always attached) applies the per-resolution learning
rates, logs ``growth/*`` and writes a sample grid at every stage end and mid-fade-in.

**Per-resolution batch size with a data module that loads once.** The loader yields batches of the
largest scheduled size at the final resolution; each step keeps the first ``b`` images of its batch
(``on_before_batch_transfer``, on the host, so the unused ones never reach the device) and counts only
those as shown. The sampler, the loader and the data module stay untouched across stages and resumes
(no rebuilt loaders, no sampler reading the schedule one prefetch ahead); the price is loading up to
16/3 ≈ 5× more images than used at 1024². With a smaller loader batch the step uses what it gets
(a warning says so at fit start).

``sample`` / ``generate`` give G's current-stage output nearest-upsampled to the final resolution, so
every sample grid and metric sees one image size through training; ``generate_at_stage`` gives it at the
stage's own size (what D sees). Lightning's ``max_steps`` counts D and G steps (2 per batch).

Deviations:
* The optimizers' moments are kept across stages (the authors' code resets Adam whenever the level of
  detail crosses an integer: at the start of each fade-in and of each stabilisation); the blocks not yet in
  use get no gradient, so Adam leaves them untouched until their fade-in.
* Batch sizes are per device; ``images_shown`` counts the images of every rank (b × world size per step).
* G's output layer is linear as in the paper and D trains on it unclipped; samples (G in eval mode) are
  clipped to [−1, 1], as the authors' code clips the images it writes.
* G's first layer (the 4×4 "conv" on the 1×1 latent, a dense layer) has a bias per output unit, W₄·16 of them,
  where the paper's conv and the authors' code have one per channel (W₄): a learned constant per position of
  the 4×4 map. Kept because the shipped ``progan-fashion_mnist`` weights have that shape.
* Minibatch stddev over the whole batch (the paper's text; the authors' code: groups of 4) — see
  ``gan_zoo.nets.progan``. Because it mixes the batch, the gradient penalty's per-sample gradients see the
  other interpolates through one scalar, as in the authors' code.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor, nn

from gan_zoo.errors import GanZooError
from gan_zoo.losses import d_wasserstein_loss, g_wasserstein_loss
from gan_zoo.models.base import GANModule, LossOutput, StepStats, adam
from gan_zoo.nets.progan import downsample, real_images_at, upsample
from gan_zoo.progressive import PAPER_BATCH_SIZES, GrowthPoint, GrowthSchedule
from gan_zoo.registry import register_model
from gan_zoo.regularizers import drift_penalty, gradient_penalty

__all__ = ["ProGAN"]

# The batch is cut to the scheduled size in ``on_before_batch_transfer``, on purpose, with data modules too.
warnings.filterwarnings("ignore", message=r"You have overridden `on_before_batch_transfer`")


@register_model(
    "progan",
    defaults={
        "generator": {"class_path": "gan_zoo.nets.ProGANGenerator", "init_args": {"latent_dim": 512, "image_shape": [3, 1024, 1024]}},
        "discriminator": {"class_path": "gan_zoo.nets.ProGANDiscriminator", "init_args": {"image_shape": [3, 1024, 1024]}},
    },
    tiny={
        "generator": {"init_args": {"latent_dim": 8, "image_shape": [3, 32, 32], "channel_base": 128, "max_channels": 16}},
        "discriminator": {"init_args": {"image_shape": [3, 32, 32], "channel_base": 128, "max_channels": 16}},
        "fade_in_images": 8,
        "stabilize_images": 8,
    },
)
class ProGAN(GANModule):
    """Karras et al. 2018: progressive growing with fade-in, WGAN-GP + drift, EMA generator.

    Args (beyond ``GANModule``'s, which pass through ``**kwargs``):
        ema_decay: decay of the generator's running average (the paper: 0.999; ``None`` switches it off).
        gp_weight: λ of the gradient penalty (10).
        drift_weight: ε_drift of the drift term E[D(x)²] (0.001).
        fade_in_images: real images per fade-in (800k).
        stabilize_images: real images per stabilisation phase (800k).
        batch_sizes: resolution → batch size per step; default: the paper's (16 up to 128², 14, 6, 3).
        learning_rates: resolution → Adam learning rate; unlisted resolutions keep the optimizers' own.
    """

    nets_differentiated_twice = ("discriminator",)  # the WGAN-GP penalty
    default_g_optimizer = staticmethod(adam(1e-3, (0.0, 0.99), eps=1e-8))  # A.1
    default_d_optimizer = staticmethod(adam(1e-3, (0.0, 0.99), eps=1e-8))

    def __init__(
        self,
        *,
        ema_decay: float | None = 0.999,
        gp_weight: float = 10.0,
        drift_weight: float = 0.001,
        fade_in_images: int = 800_000,
        stabilize_images: int = 800_000,
        batch_sizes: dict[int, int] | None = None,
        learning_rates: dict[int, float] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(ema_decay=ema_decay, **kwargs)
        if any(factory is not None for factory in self.lr_scheduler_factories):
            # ProgressiveGrowing sets every param group's rate before each batch (learning_rates or the factory's
            # lr), so a schedule's rates would be overwritten unseen.
            raise GanZooError(
                "ProGAN sets its learning rates per resolution: use --model.init_args.learning_rates "
                "(resolution -> lr) instead of g_lr_scheduler / d_lr_scheduler"
            )
        g, d = self.generator, self.discriminator
        if getattr(g, "num_stages", None) is None or getattr(d, "num_stages", None) is None:
            raise GanZooError(
                f"ProGAN grows its nets: use gan_zoo.nets.ProGANGenerator / ProGANDiscriminator, not "
                f"{type(g).__name__} / {type(d).__name__}"
            )
        if tuple(g.image_shape) != tuple(d.image_shape):
            raise GanZooError(f"generator image_shape {g.image_shape} differs from discriminator's {d.image_shape}; set both alike")
        if gp_weight < 0 or drift_weight < 0:
            raise GanZooError(f"gp_weight and drift_weight must be >= 0 (the paper: 10 and 0.001), got {gp_weight}, {drift_weight}")
        resolutions = [4 * 2**s for s in range(g.num_stages)]
        if batch_sizes is None:
            batch_sizes = {r: PAPER_BATCH_SIZES[r] for r in resolutions}
        try:
            self.schedule = GrowthSchedule(
                num_stages=g.num_stages,
                fade_in_images=fade_in_images,
                stabilize_images=stabilize_images,
                batch_sizes={int(r): int(b) for r, b in batch_sizes.items()},
                learning_rates={int(r): float(lr) for r, lr in (learning_rates or {}).items()},
            )
        except ValueError as err:
            raise GanZooError(f"ProGAN schedule: {err}") from None
        group = getattr(getattr(d, "minibatch_std", None), "group_size", None)  # None: the whole batch
        sizes = {r: self.schedule.batch_size_at(r) for r in resolutions}
        uneven = [(r, b) for r, b in sizes.items() if group and b % min(group, b)]
        if uneven:  # found here, not when the run reaches that resolution (the paper's 14 at 256², 6 at 512²)
            r, b = uneven[0]
            raise GanZooError(
                f"ProGAN: the batch size {b} at {r}x{r} is not a multiple of the discriminator's mbstd_group_size "
                f"{group}; set mbstd_group_size to a divisor of every scheduled batch size (or null: the whole batch), "
                "or batch_sizes to multiples of it"
            )
        # Training state: real images shown to D so far. The buffer goes into checkpoints; the host mirror
        # decides the stage and α without reading the device (read back once whenever a state dict loads).
        self.register_buffer("images_shown", torch.zeros((), dtype=torch.long))
        self.num_images_shown = 0
        self.register_load_state_dict_post_hook(ProGAN._read_images_shown_back)

    @staticmethod
    def _read_images_shown_back(module: "ProGAN", incompatible_keys: Any) -> None:
        module.num_images_shown = int(module.images_shown)

    # ------------------------------------------------------------------ the schedule
    @property
    def growth(self) -> GrowthPoint:
        """Stage, α, batch size and lr after the images shown so far (a pure function of the host counter)."""
        return self.schedule.at(self.num_images_shown)

    @property
    def final_resolution(self) -> int:
        return self.generator.image_shape[-1]

    def check_exportable(self) -> None:
        """A pretrained ProGAN generator is the grown one (``net(z)``: the final stage at α = 1); refuse
        to export a model that has not got there (``save_pretrained`` / ``gan-zoo export`` call this)."""
        point, last = self.growth, self.generator.num_stages - 1
        if point.stage < last or point.alpha < 1.0:
            done = self.schedule.stage_start(last) + self.schedule.fade_in_images
            raise GanZooError(
                f"this ProGAN is at {point.resolution}x{point.resolution} (alpha={point.alpha:.3f}) after "
                f"{self.num_images_shown} images and has not grown to {self.final_resolution}x{self.final_resolution}; "
                f"train to at least {done} images shown before exporting (checkpoints resume growth; sample() "
                "shows the current stage)"
            )

    def configure_callbacks(self) -> list:
        # The fade-in callback applies the per-resolution learning rates: it is part of the algorithm, so
        # it is attached unless the trainer already has one (configured by the user).
        from gan_zoo.callbacks.fade_in import ProgressiveGrowing

        if any(isinstance(cb, ProgressiveGrowing) for cb in self.trainer.callbacks):
            return []
        return [ProgressiveGrowing()]

    def on_gan_fit_start(self) -> None:
        dm = getattr(self.trainer, "datamodule", None)
        shape = getattr(dm, "image_shape", None)
        if shape is not None and tuple(shape) != tuple(self.generator.image_shape):
            raise GanZooError(
                f"ProGAN nets are built for images {tuple(self.generator.image_shape)} but {type(dm).__name__} "
                f"yields {tuple(shape)}; set the nets' image_shape (or --data.image_size) to match"
            )
        loader_batch = getattr(dm, "batch_size", None)
        if isinstance(loader_batch, int) and loader_batch < self.schedule.max_batch_size:
            rank_zero_warn(
                f"the data batch size ({loader_batch}) is below ProGAN's largest per-resolution batch "
                f"({self.schedule.max_batch_size}); those stages train on {loader_batch} images per step"
            )

    # ------------------------------------------------------------------ the nets at the current stage
    def generate_at_stage(self, z: Tensor, net: nn.Module | None = None) -> Tensor:
        """G(z; s, α) at the current stage's resolution (B, C, r, r)."""
        point = self.growth
        return (net or self.generator)(z, point.stage, point.alpha)

    def generate(self, z: Tensor, labels: Tensor | None = None, net: nn.Module | None = None) -> Tensor:
        """G's current output nearest-upsampled to the final resolution (B, C, R, R): one size for every grid
        and metric through training. At the final stage this is plain ``net(z)``."""
        x = self.generate_at_stage(z, net)
        return upsample(x, self.final_resolution // x.shape[-1])

    def discriminate(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """D(x; s, α) (B,). ``x`` at the stage's resolution, or at the final one like ``sample``'s output
        (then average-pooled down: the inverse of ``generate``'s upsampling; reals need ``real_images_at``)."""
        point = self.growth
        return self.discriminator(self._to_stage(x, point), point.stage, point.alpha)

    def features(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """D's (B, W₄) features before the score, for inputs as in ``discriminate``."""
        point = self.growth
        return self.discriminator.features(self._to_stage(x, point), point.stage, point.alpha)

    @staticmethod
    def _to_stage(x: Tensor, point: GrowthPoint) -> Tensor:
        return downsample(x, x.shape[-1] // point.resolution) if x.shape[-1] > point.resolution else x

    # ------------------------------------------------------------------ the loop
    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        # Per-resolution batch size: the first b images of the loader's (largest-size) batch, cut on the
        # host so the rest never travel to the device.
        if not self.trainer.training:
            return batch
        b = self.growth.batch_size
        if isinstance(batch, (list, tuple)):
            return type(batch)(t[:b] for t in batch)
        return batch[:b]

    def training_step(self, batch: Any, batch_idx: int) -> StepStats:
        images, _ = self.unpack_batch(batch)  # (b, C, R, R) at the final resolution
        point = self.growth  # fixed for the whole step: images_shown moves only at its end
        real = real_images_at(images, point.stage, point.alpha)  # (b, C, r, r), faded like G's output
        n = real.shape[0]
        with torch.no_grad():
            fake = self.generate_at_stage(self.sample_latent(n))  # (b, C, r, r), no graph into G
        stats = self.d_update(lambda: self.d_loss(real, fake, None))
        if self.generator_turn():
            stats |= self.g_update(lambda: self.g_loss(real, self.generate_at_stage(self.sample_latent(n)), None))
        shown = n * self.trainer.world_size
        self.num_images_shown += shown
        self.images_shown.add_(shown)  # in place on the device: no sync
        return stats

    def d_loss(self, real: Tensor, fake: Tensor, labels: Tensor | None) -> LossOutput:
        real_scores = self.discriminate(real)  # (B,)
        fake_scores = self.discriminate(fake)  # (B,)
        critic_loss = d_wasserstein_loss(real_scores, fake_scores)  # E[D(x̃)] − E[D(x)]
        penalty = gradient_penalty(self.discriminate, real, fake)  # E[(‖∇D(x̂)‖ − 1)²], float32
        drift = drift_penalty(real_scores)  # E[D(x)²]
        loss = critic_loss + self.hparams.gp_weight * penalty + self.hparams.drift_weight * drift
        return loss, {"wasserstein": -critic_loss.detach(), "gradient_penalty": penalty.detach(), "drift": drift.detach()}

    def g_loss(self, real: Tensor, fake: Tensor, labels: Tensor | None) -> LossOutput:
        return g_wasserstein_loss(self.discriminate(fake))  # −E[D(G(z))]
