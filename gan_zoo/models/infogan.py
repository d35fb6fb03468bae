"""InfoGAN — Chen, Duan, Houthooft, Schulman, Sutskever & Abbeel, "InfoGAN: Interpretable Representation
Learning by Information Maximizing Generative Adversarial Nets", NeurIPS 2016.

G's input is split into incompressible noise z and a latent code c = (c_cat, c_cont):
    z ~ U(−1, 1)^62,  c_cat ~ Cat(K = 10) (fed one-hot),  c_cont ~ U(−1, 1)^2        (MNIST, Sec. 7.1)
An auxiliary distribution Q(c | x), a head on D's body, gives the variational lower bound (Eq. 4-5)
    L_I(G, Q) = E_{c~P(c), x~G(z,c)}[log Q(c | x)] + H(c)  <=  I(c; G(z, c))
and the game is (Eq. 6)
    min_{G,Q} max_D  V_GAN(D, G) − λ L_I(G, Q).
With −log Q split per code: cross-entropy for c_cat, a factored-Gaussian NLL for c_cont
(``gan_zoo.losses.info_categorical_loss`` / ``info_gaussian_nll``), weighted λ_cat and λ_cont.

Per batch (the base loop's order and counters, with the sampled codes kept for Q):
    1. (z, c_cat, c_cont) ~ priors;  x̃ = G([z, onehot(c_cat), c_cont]) without gradients
    2. D/Q step:  minimize  BCE(D(x), 1) + BCE(D(x̃), 0) + λ_cat CE(Q_cat(x̃), c_cat) + λ_cont NLL(Q_cont(x̃), c_cont)
                  w.r.t. θ_D (which contains Q's head: Q shares D's body)
    3. G step:    fresh latent;  minimize  −log σ(D(G(latent))) + the same λ-weighted info terms
                  w.r.t. θ_G (the info terms' gradients flow through Q into G)

Paper settings (Appendix C, Table 1, and the authors' released MNIST launcher): Adam with lr 2e-4 for D
and 1e-3 for G, β1 = 0.5; batch 128 (launcher); λ = 1 for the categorical code; Q's Gaussian has σ
fixed to 1 and the continuous codes' λ is 1 (launcher: ``info_reg_coeff=1.0``, ``fix_std=True``).

Deviations from the paper:
* The paper's Sec. 7 advice to use a smaller λ for continuous codes refers to Q with learned variance
  (the differential entropy term); with the default fixed σ the NLL is ½(c − μ)² + const, already on the
  GAN losses' scale, so ``lambda_continuous`` defaults to 1 like the released code. Set
  ``learn_variance: true`` on D and e.g. ``lambda_continuous: 0.1`` for the general form.
* tanh output on [-1, 1] data instead of a Bernoulli output on [0, 1] pixels.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from gan_zoo.losses import d_bce_loss, info_categorical_loss, info_gaussian_nll
from gan_zoo.models.base import LatentPrior, LossOutput, StepStats, adam
from gan_zoo.models.vanilla_gan import VanillaGAN
from gan_zoo.nets.infogan import QOutput
from gan_zoo.latent_paths import traversal_inputs
from gan_zoo.registry import register_model

__all__ = ["InfoGAN"]


@register_model(
    "infogan",
    defaults={
        "generator": {
            "class_path": "gan_zoo.nets.infogan.InfoGANGenerator",
            "init_args": {"latent_dim": 62, "num_categories": 10, "num_continuous": 2, "image_shape": [1, 28, 28]},
        },
        "discriminator": {
            "class_path": "gan_zoo.nets.infogan.InfoGANDiscriminator",
            "init_args": {"num_categories": 10, "num_continuous": 2, "image_shape": [1, 28, 28]},
        },
    },
    tiny={
        "generator": {"init_args": {"latent_dim": 8, "hidden": 32, "base_channels": 8}},
        "discriminator": {"init_args": {"hidden": 32, "base_channels": 8, "q_hidden": 16}},
    },
)
class InfoGAN(VanillaGAN):
    """Chen et al. 2016: the GAN game minus λ·L_I, with Q a head on D's body (see the module docstring).

    Args (beyond ``VanillaGAN``'s, which pass through ``**kwargs``):
        latent_prior: z's prior (the paper's: uniform).
        lambda_categorical: λ for the categorical code's cross-entropy (paper: 1).
        lambda_continuous: λ for the continuous codes' Gaussian NLL (released code: 1 with σ fixed).
    The nets define the code sizes: G's ``num_categories``/``num_continuous`` must equal D's (Q's); the
    generator owns the latent layout (``draw_codes`` / ``make_latent``).
    """

    default_g_optimizer = staticmethod(adam(1e-3, (0.5, 0.999)))  # Appendix C: G learns with 1e-3
    default_d_optimizer = staticmethod(adam(2e-4, (0.5, 0.999)))  # and D (with Q) with 2e-4

    def __init__(
        self,
        *,
        latent_prior: LatentPrior = "uniform",
        lambda_categorical: float = 1.0,
        lambda_continuous: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(latent_prior=latent_prior, **kwargs)
        sizes = {}
        for role, net in (("generator", self.generator), ("discriminator", self.discriminator)):
            sizes[role] = (getattr(net, "num_categories", None), getattr(net, "num_continuous", None))
        if sizes["generator"] != sizes["discriminator"] or None in sizes["generator"] or not hasattr(self.discriminator, "with_q"):
            raise ValueError(
                f"InfoGAN needs gan_zoo.nets.infogan nets with equal (num_categories, num_continuous); got "
                f"generator {sizes['generator']}, discriminator {sizes['discriminator']}"
            )
        if lambda_categorical < 0 or lambda_continuous < 0:
            raise ValueError(f"λ weights must be >= 0, got {lambda_categorical}, {lambda_continuous}")

    @property
    def num_categories(self) -> int:
        return self.generator.num_categories

    @property
    def num_continuous(self) -> int:
        return self.generator.num_continuous

    def draw_codes(self, n: int) -> tuple[Tensor, Tensor, Tensor]:
        """(z (n, Z), c_cat (n,), c_cont (n, J)) from the priors, drawn on this module's device (no copy)."""
        return self.generator.draw_codes(n, self.hparams.latent_prior, device=self.device)

    def generate(self, z: Tensor, labels: Tensor | None = None, net: nn.Module | None = None) -> Tensor:
        """G(latent); ``labels`` (B,), if given, replace the categorical code (so ``sample(n, labels=c)``
        draws chosen code values)."""
        return (net or self.generator)(z, labels)

    # ------------------------------------------------------------------ objectives
    def info_loss(self, categories: Tensor, continuous: Tensor, q: QOutput, prefix: str = "") -> tuple[Tensor, StepStats]:
        """λ_cat·CE + λ_cont·NLL = −L_I up to the constant H(c) (Eq. 4-5), for the codes G was given;
        with the MI lower bounds H(c) − CE per code kind and Q's categorical accuracy as stats (names
        start with ``prefix``: the D and G steps both measure them)."""
        ce = info_categorical_loss(q.cat_logits, categories)
        nll = info_gaussian_nll(q.cont_mean, q.cont_log_var, continuous) if self.num_continuous else ce.new_zeros(())
        total = self.hparams.lambda_categorical * ce + self.hparams.lambda_continuous * nll
        stats = {  # H(Cat(K)) = log K; H(U(−1, 1)) = log 2 per dimension
            f"{prefix}mi_cat": math.log(self.num_categories) - ce.detach(),
            # with σ fixed at 1 the Gaussian NLL is at least ½ log 2π per code, so this bound stays below
            # num_continuous · (log 2 − ½ log 2π) ≈ −0.23 per code: read its changes, not its sign
            f"{prefix}mi_cont": self.num_continuous * math.log(2.0) - nll.detach(),
            f"{prefix}q_acc": (q.cat_logits.detach().argmax(1) == categories).float().mean(),
        }
        return total, stats

    def d_info_loss(self, real: Tensor, fake: Tensor, categories: Tensor, continuous: Tensor) -> LossOutput:
        """Step 2: D's GAN loss plus λ·(−L_I) on the detached fakes; trains D and Q (shared body)."""
        real_logits = self.discriminator(real)  # (B,)
        fake_logits, q = self.discriminator.with_q(fake)  # (B,), Q(c | x̃)
        gan = d_bce_loss(real_logits, fake_logits, real_target=self.hparams.real_label)
        info, stats = self.info_loss(categories, continuous, q, prefix="d_")
        stats.update(d_real=real_logits.detach().sigmoid().mean(), d_fake=fake_logits.detach().sigmoid().mean())
        return gan + info, stats

    def g_info_loss(self, z: Tensor, categories: Tensor, continuous: Tensor) -> LossOutput:
        """Step 3: G's non-saturating (or minimax) loss plus λ·(−L_I); gradients reach G through Q."""
        fake = self.generator(self.generator.make_latent(z, categories, continuous))
        fake_logits, q = self.discriminator.with_q(fake)
        info, stats = self.info_loss(categories, continuous, q, prefix="g_")
        return self.g_loss_fn(fake_logits) + info, stats

    def training_step(self, batch: Any, batch_idx: int) -> StepStats:
        # The base loop, except that the sampled codes are kept for Q's loss.
        real, _ = self.unpack_batch(batch)  # labels are never used: InfoGAN is unsupervised
        z, categories, continuous = self.draw_codes(real.shape[0])
        with torch.no_grad():
            fake = self.generator(self.generator.make_latent(z, categories, continuous))
        stats = self.d_update(lambda: self.d_info_loss(real, fake, categories, continuous))
        if self.generator_turn():
            g_codes = self.draw_codes(real.shape[0])
            stats |= self.g_update(lambda: self.g_info_loss(*g_codes))
        return stats

    # ------------------------------------------------------------------ traversals
    @torch.no_grad()
    def traverse(self, code: int, values: Tensor, seed: int = 0, use_ema: bool | None = None) -> Tensor:
        """Images with one shared z: row k has c_cat = k, column v has continuous code ``code`` = values[v]
        (the other continuous codes 0). Returns (K, V, C, H, W)."""
        # the inputs come from gan_zoo.latent_paths, shared with PretrainedGenerator.traverse
        latent = traversal_inputs(self.generator, code, values, self.hparams.latent_prior, seed).to(self.device)
        images = self.generate_eval(latent, use_ema)
        return images.view(self.num_categories, len(values), *images.shape[1:])

    @torch.no_grad()
    def generate_eval(self, latent: Tensor, use_ema: bool | None = None) -> Tensor:
        """G(latent) in eval mode (running batch-norm statistics), with the EMA generator when kept."""
        if use_ema is None:
            use_ema = self.generator_ema is not None
        net = self.generator_ema.module if use_ema and self.generator_ema is not None else self.generator
        was_training = net.training
        net.eval()
        try:
            return net(latent)
        finally:
            net.train(was_training)
