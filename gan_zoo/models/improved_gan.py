"""Improved GAN — Salimans, Goodfellow, Zaremba, Cheung, Radford & Chen, "Improved Techniques for Training
GANs", NeurIPS 2016. DCGAN nets and the GAN game (``VanillaGAN``) plus the paper's five techniques, each a
switch chosen in YAML and each living in its own part:

* **Feature matching** (Sec. 3.1), ``feature_matching: true``: G's loss becomes
      ‖E_x f(x) − E_z f(G(z))‖²₂                                        (``losses.feature_matching_loss``)
  with f = ``features()`` of D (``DCGANDiscriminator(feature_layer=...)`` picks the layer). The real
  features are a fixed target (no graph); only G is updated in G's step.
* **Minibatch discrimination** (Sec. 3.2), ``minibatch_kernels: B > 0``: D becomes
  ``MinibatchDiscriminator(D, B, C)``: M_i = h(x_i) T, c_b(x_i, x_j) = exp(−‖M_{i,b} − M_{j,b}‖_L1),
  o(x_i)_b = Σ_j c_b(x_i, x_j), and the logit is read from [h(x_i), o(x_i)], h being D's last hidden layer
  whatever layer feature matching reads. D sees real and fake batches
  in separate calls, so o(x_i) compares real with real and fake with fake, as in the paper.
* **Historical averaging** (Sec. 3.3), ``d_historical_weight`` / ``g_historical_weight`` = λ > 0: each
  player's cost gets λ ‖θ − (1/t) Σ_{i≤t} θ[i]‖² (``regularizers.HistoricalAverage``: running means as
  buffers; the penalty is part of the loss before ``manual_backward``, so AMP's grad scaler covers it).
* **One-sided label smoothing** (Sec. 3.4), ``real_label: α`` (0.9): D's real targets are α, fake targets
  stay 0 (``losses.d_bce_loss``). 1.0 switches it off.
* **Virtual batch normalization** (Sec. 3.5), ``generator.init_args.norm: virtual_batch``: G normalises each
  example with the statistics of a fixed reference batch of inputs z_ref (run through G alongside every
  live batch) together with the example itself (``nets.improved.VirtualBatchNorm``). z_ref is a buffer of
  G, so checkpoints carry it; it is drawn once, at the start of a fresh fit, from this model's latent prior
  (``reference_seed`` of the net), and never again (a resumed fit keeps the checkpoint's).

Algorithm per batch (the base loop): D step on BCE(D(x), α) + BCE(D(G(z)), 0) [+ λ_D HA(θ_D)], then G step
on FM(x, G(z)) or −log D(G(z)) [+ λ_G HA(θ_G)]; after each step the historical means take in the new θ.

Defaults are the paper's combined recipe for samples (its CIFAR-10 generation model: minibatch
discrimination with B = 100, C = 5 as in the authors' code, one-sided smoothing 0.9, VBN in G) with feature
matching off: with feature matching G never sees D's output layer, so minibatch discrimination would only
shape D's features. Historical averaging is off by default (the paper gives no weight for its image models).

Deviations from the paper:
* DCGAN nets (``gan_zoo.nets.dcgan``) instead of the authors' CIFAR-10 nets (weight-normed convs with
  dropout and Gaussian noise in D). Minibatch discrimination reads D's last conv map, flattened.
* The sum in o(x_i) includes j = i (as the paper's equation); the authors' code leaves it out, a constant
  difference of 1 per kernel that the head's bias absorbs.
* T starts from N(0, 0.05²) entries; the authors' code weight-normalises T's columns and sets their scale
  from the first batch of data. Not reproduced: the scale is left for D to learn.
* Adam(2e-4, β1 = 0.5) as in DCGAN; the authors' code uses lr 3e-4 for CIFAR-10.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from gan_zoo.losses import feature_matching_loss
from gan_zoo.models.base import LossOutput, StepStats, split_loss_output
from gan_zoo.models.vanilla_gan import VanillaGAN
from gan_zoo.nets.improved import MinibatchDiscriminator
from gan_zoo.registry import register_model
from gan_zoo.regularizers import HistoricalAverage
from gan_zoo.sampling import sample_latent

__all__ = ["ImprovedGAN"]


@register_model(
    "improved_gan",
    defaults={
        "generator": {
            "class_path": "gan_zoo.nets.DCGANGenerator",
            "init_args": {"latent_dim": 100, "image_shape": [3, 32, 32], "base_channels": 64, "norm": "virtual_batch"},
        },
        "discriminator": {
            "class_path": "gan_zoo.nets.DCGANDiscriminator",
            "init_args": {"image_shape": [3, 32, 32], "base_channels": 64},
        },
    },
    tiny={
        "generator": {"init_args": {"latent_dim": 8, "base_channels": 8, "reference_batch_size": 4}},
        "discriminator": {"init_args": {"base_channels": 8}},
        "minibatch_kernels": 8,
        "minibatch_kernel_dim": 3,
        "d_historical_weight": 0.1,
        "g_historical_weight": 0.1,
    },
)
class ImprovedGAN(VanillaGAN):
    """Salimans et al. 2016's techniques on the DCGAN game; see the module docstring.

    Args (beyond ``VanillaGAN``'s, which pass through ``**kwargs``):
        feature_matching: G minimises the feature-matching loss instead of −log D(G(z)) (Sec. 3.1).
        minibatch_kernels: B of minibatch discrimination (Sec. 3.2); 0 switches it off.
        minibatch_kernel_dim: C of minibatch discrimination.
        d_historical_weight: λ of D's historical-averaging term (Sec. 3.3); 0 switches it off.
        g_historical_weight: λ of G's historical-averaging term; 0 switches it off.
        real_label: one-sided label smoothing α (Sec. 3.4); default 0.9, 1.0 switches it off.
    """

    def __init__(
        self,
        *,
        feature_matching: bool = False,
        minibatch_kernels: int = 100,
        minibatch_kernel_dim: int = 5,
        d_historical_weight: float = 0.0,
        g_historical_weight: float = 0.0,
        real_label: float = 0.9,
        **kwargs: Any,
    ) -> None:
        if minibatch_kernels < 0 or minibatch_kernel_dim < 1:
            raise ValueError(f"minibatch_kernels must be >= 0 and minibatch_kernel_dim >= 1, got {minibatch_kernels}, {minibatch_kernel_dim}")
        if d_historical_weight < 0 or g_historical_weight < 0:
            raise ValueError("historical averaging weights must be >= 0")
        if minibatch_kernels > 0:  # Sec. 3.2: o(x_i) joins D's features before its last layer
            kwargs["discriminator"] = MinibatchDiscriminator(kwargs["discriminator"], minibatch_kernels, minibatch_kernel_dim)
        super().__init__(real_label=real_label, **kwargs)
        # Sec. 3.3: the running means are buffers of these submodules, so the checkpoint carries them.
        self.d_history = HistoricalAverage(self.discriminator) if d_historical_weight > 0 else None
        self.g_history = HistoricalAverage(self.generator) if g_historical_weight > 0 else None

    warm_start_resets = ("d_history.", "g_history.")

    def reset_on_warm_start(self) -> None:
        """θ[1] of each history is the weights a warm start loaded, not the initialisation they replaced."""
        for history, player in ((self.d_history, self.discriminator), (self.g_history, self.generator)):
            if history is not None:
                history.restart_(player)

    def on_gan_fit_start(self) -> None:
        super().on_gan_fit_start()
        self._draw_vbn_reference()

    # ------------------------------------------------------------------ Sec. 3.5: the VBN reference batch
    def _draw_vbn_reference(self) -> None:
        set_reference = getattr(self.generator, "set_reference", None)
        reference = getattr(self.generator, "reference_z", None)
        if reference is None or not callable(set_reference) or self.num_g_updates > 0:
            return  # no VBN, or a resumed fit: keep the checkpoint's reference batch
        rng = torch.Generator().manual_seed(getattr(self.generator, "reference_seed", 0))
        z_ref = sample_latent(reference.shape[0], reference.shape[1], self.hparams.latent_prior, rng)  # (N, Z)
        self.generator.set_reference(z_ref.to(reference))
        if self.generator_ema is not None:
            self.generator_ema.module.set_reference(z_ref.to(reference))

    # ------------------------------------------------------------------ the players' costs
    def d_loss(self, real: Tensor, fake: Tensor, labels: Tensor | None) -> LossOutput:
        loss, stats = split_loss_output(super().d_loss(real, fake, labels))  # real and fake in separate D calls
        if self.d_history is not None:
            penalty = self.d_history.penalty(self.discriminator)
            loss = loss + self.hparams.d_historical_weight * penalty
            stats["d_historical"] = penalty.detach()
        return loss, stats

    def g_loss(self, real: Tensor, fake: Tensor, labels: Tensor | None) -> LossOutput:
        stats: StepStats = {}
        if self.hparams.feature_matching:
            with torch.no_grad():  # E_x f(x) is the target: no graph into D through the real batch
                real_features = self.features(real, labels)
            loss = feature_matching_loss(real_features, self.features(fake, labels))  # Sec. 3.1
        else:
            loss, stats = split_loss_output(super().g_loss(real, fake, labels))
        if self.g_history is not None:
            penalty = self.g_history.penalty(self.generator)
            loss = loss + self.hparams.g_historical_weight * penalty
            stats["g_historical"] = penalty.detach()
        return loss, stats

    def after_d_step(self, stats: StepStats) -> None:
        if self.d_history is not None:
            self.d_history.update_(self.discriminator)

    def after_g_step(self, stats: StepStats) -> None:
        if self.g_history is not None:
            self.g_history.update_(self.generator)
