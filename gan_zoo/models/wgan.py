"""WGAN — Arjovsky, Chintala & Bottou, "Wasserstein GAN", ICML 2017.

The critic f_w (no sigmoid) estimates the Earth-Mover distance through the Kantorovich-Rubinstein
duality (Eq. 2-3), with the Lipschitz constraint enforced crudely by clipping the weights:

    W(P_r, P_g) ≈ max_{w ∈ W} E_{x~P_r}[f_w(x)] − E_{z~p(z)}[f_w(g_θ(z))],   W = [−c, c]^d

Algorithm 1 (α = 5e-5, c = 0.01, m = 64, n_critic = 5):
    while θ has not converged:
        for t = 0, ..., n_critic − 1:
            sample {x_i} ~ P_r, {z_i} ~ p(z)                                       (lines 3-4)
            g_w ← ∇_w [1/m Σ f_w(x_i) − 1/m Σ f_w(g_θ(z_i))]                     (line 5)
            w ← w + α · RMSProp(w, g_w)                                           (line 6)
            w ← clip(w, −c, c)                                                    (line 7, ``after_d_step``)
        sample {z_i} ~ p(z)                                                       (line 9)
        g_θ ← −∇_θ 1/m Σ f_w(g_θ(z_i));  θ ← θ − α · RMSProp(θ, g_θ)              (lines 10-11)

Each critic iteration draws its own real minibatch, so one training batch is one critic step and the
generator steps once every ``n_critic`` batches. Logged: ``train/wasserstein`` = E[f(x)] − E[f(G(z))],
the negated critic loss, whose decrease the paper correlates with sample quality (Sec. 4.2).

Units: Lightning's ``max_steps`` counts the steps of both optimizers, so with n_critic = 5 one generator
iteration costs 6 steps (5 critic + 1 generator): ``max_steps: 6000`` is 1,000 generator iterations.

``reference_schedule=True`` adds the schedule of the authors' code: 100 critic iterations per generator
iteration for the first 25 generator iterations and every 500th (``critic_steps``).

Deviations from the paper:
* The nets are the DCGAN ones (batch norm in the critic, as in the paper's DCGAN experiments); at 28/32
  pixels they have fewer stages. Clipping applies to every critic parameter, batch-norm scales included,
  as in the authors' code.
* z ~ N(0, I) of size 100 (the authors' code also uses a normal prior).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import Tensor

from gan_zoo.losses import d_wasserstein_loss, g_wasserstein_loss
from gan_zoo.models.base import GANModule, LossOutput, StepStats
from gan_zoo.registry import DCGAN_NETS_TINY, register_model
from gan_zoo.regularizers import clip_weights_

__all__ = ["WGAN", "reference_critic_steps"]


def reference_critic_steps(g_updates: int, n_critic: int) -> int:
    """Critic iterations before generator iteration ``g_updates`` (0-based) in the authors' code:
    100 while g_updates < 25 and whenever g_updates is a multiple of 500, else ``n_critic``."""
    return 100 if g_updates < 25 or g_updates % 500 == 0 else n_critic


@register_model(
    "wgan",
    defaults={
        "generator": {"class_path": "gan_zoo.nets.DCGANGenerator", "init_args": {"latent_dim": 100, "image_shape": [3, 64, 64], "base_channels": 64}},
        "discriminator": {"class_path": "gan_zoo.nets.DCGANDiscriminator", "init_args": {"image_shape": [3, 64, 64], "base_channels": 64}},
    },
    tiny=DCGAN_NETS_TINY,
)
class WGAN(GANModule):
    """Arjovsky et al. 2017, Algorithm 1: critic without sigmoid, RMSProp(5e-5), n_critic = 5, clip c = 0.01.

    ``max_steps`` counts critic + generator steps (see the module docstring).

    Args (beyond ``GANModule``'s, which pass through ``**kwargs``):
        n_critic: critic iterations per generator iteration (Alg. 1: 5).
        clip_value: c, the critic's weights are clamped into [−c, c] after every critic step.
        reference_schedule: use the authors' code's 100-critic-step schedule (``reference_critic_steps``).
    """

    default_g_optimizer = staticmethod(partial(torch.optim.RMSprop, lr=5e-5))  # Alg. 1: α = 5e-5
    default_d_optimizer = staticmethod(partial(torch.optim.RMSprop, lr=5e-5))

    def __init__(self, *, n_critic: int = 5, clip_value: float = 0.01, reference_schedule: bool = False, **kwargs: Any) -> None:
        super().__init__(n_critic=n_critic, **kwargs)
        if clip_value <= 0:
            raise ValueError(f"clip_value must be > 0, got {clip_value}; the paper uses 0.01")
        clip_weights_(self.discriminator, clip_value)  # start inside W, so every critic evaluated is in W

    def d_loss(self, real: Tensor, fake: Tensor, labels: Tensor | None) -> LossOutput:
        real_scores = self.discriminate(real, labels)  # (B,)
        fake_scores = self.discriminate(fake, labels)  # (B,)
        loss = d_wasserstein_loss(real_scores, fake_scores)  # Alg. 1 line 5, negated for descent
        return loss, {"wasserstein": -loss.detach()}  # E[f(x)] − E[f(G(z))]

    def g_loss(self, real: Tensor, fake: Tensor, labels: Tensor | None) -> LossOutput:
        return g_wasserstein_loss(self.discriminate(fake, labels))  # Alg. 1 line 10

    def after_d_step(self, stats: StepStats) -> None:
        clip_weights_(self.discriminator, self.hparams.clip_value)  # Alg. 1 line 7

    def reset_on_warm_start(self) -> None:
        clip_weights_(self.discriminator, self.hparams.clip_value)  # loaded weights: back inside W too

    def critic_steps(self) -> int:
        if self.hparams.reference_schedule:
            return reference_critic_steps(self.num_g_updates, self.hparams.n_critic)
        return self.hparams.n_critic
