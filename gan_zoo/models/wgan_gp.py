"""WGAN-GP — Gulrajani, Ahmed, Arjovsky, Dumoulin & Courville, "Improved Training of Wasserstein
GANs", NeurIPS 2017.

The WGAN critic loss plus a gradient penalty on random interpolates instead of weight clipping (Eq. 3):

    L = E_{x̃~P_g}[D(x̃)] − E_{x~P_r}[D(x)] + λ E_{x̂~P_x̂}[(‖∇_x̂ D(x̂)‖₂ − 1)²]

Algorithm 1 (λ = 10, n_critic = 5, α = 1e-4, β1 = 0, β2 = 0.9):
    while θ has not converged:
        for t = 1, ..., n_critic:
            for i = 1, ..., m:
                x ~ P_r, z ~ p(z), ε ~ U[0, 1]                                     (line 4)
                x̃ ← G_θ(z);  x̂ ← ε x + (1 − ε) x̃                                  (lines 5-6)
                L^(i) ← D_w(x̃) − D_w(x) + λ (‖∇_x̂ D_w(x̂)‖₂ − 1)²                  (line 7)
            w ← Adam(∇_w 1/m Σ L^(i), w, α, β1, β2)                                (line 9)
        sample {z^(i)} ~ p(z);  θ ← Adam(∇_θ 1/m Σ −D_w(G_θ(z)), θ, α, β1, β2)     (lines 11-12)

ε is drawn per *sample* and the norm is taken over all of a sample's dimensions
(``gan_zoo.regularizers.gradient_penalty``); the penalty is computed in float32 even under mixed
precision and differentiated twice (double backward). The critic must not use batch norm (Sec. 4:
layer norm or nothing), since the penalty is defined per sample; ``gan_zoo.nets.DCGANCritic`` is such a
critic. Logged: ``train/wasserstein`` (E[D(x)] − E[D(x̃)]) and ``train/gradient_penalty`` (without λ).

Units: Lightning's ``max_steps`` counts the steps of both optimizers, so with n_critic = 5 one generator
iteration costs 6 steps: ``max_steps: 6000`` is 1,000 generator iterations (the paper trains 200k).

Deviations from the paper:
* The default nets are DCGAN-layout (generator with batch norm, critic with layer norm), the paper's
  "DCGAN" architecture row; its CIFAR-10 Inception scores come from a ResNet, which is not included.
* Each critic step draws its own real minibatch and its own fake batch (Algorithm 1 samples x, z per
  iteration as well); the fake batch for the critic is made with G in train mode, as in the authors' code.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from gan_zoo.losses import d_wasserstein_loss, g_wasserstein_loss
from gan_zoo.models.base import GANModule, LossOutput, adam
from gan_zoo.registry import DCGAN_NETS_TINY, register_model
from gan_zoo.regularizers import gradient_penalty

__all__ = ["WGANGP"]


@register_model(
    "wgan_gp",
    defaults={
        "generator": {"class_path": "gan_zoo.nets.DCGANGenerator", "init_args": {"latent_dim": 128, "image_shape": [3, 64, 64], "base_channels": 64}},
        "discriminator": {"class_path": "gan_zoo.nets.DCGANCritic", "init_args": {"image_shape": [3, 64, 64], "base_channels": 64, "norm": "layer"}},
    },
    tiny=DCGAN_NETS_TINY,
)
class WGANGP(GANModule):
    """Gulrajani et al. 2017, Algorithm 1: Wasserstein critic loss + λ·GP, Adam(1e-4, β = (0, 0.9)), n_critic = 5.

    ``max_steps`` counts critic + generator steps (see the module docstring).

    Args (beyond ``GANModule``'s, which pass through ``**kwargs``):
        n_critic: critic iterations per generator iteration (Alg. 1: 5).
        gp_weight: λ, the penalty coefficient (10 in every experiment of the paper).
    """

    nets_differentiated_twice = ("discriminator",)  # the gradient penalty, Eq. 3
    default_g_optimizer = staticmethod(adam(1e-4, (0.0, 0.9)))  # Alg. 1 defaults
    default_d_optimizer = staticmethod(adam(1e-4, (0.0, 0.9)))

    def __init__(self, *, n_critic: int = 5, gp_weight: float = 10.0, **kwargs: Any) -> None:
        super().__init__(n_critic=n_critic, **kwargs)
        if gp_weight < 0:
            raise ValueError(f"gp_weight must be >= 0, got {gp_weight}; the paper uses 10")
        batch_norms = [n for n, m in self.discriminator.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if batch_norms:
            raise ValueError(
                f"the critic has batch norm ({batch_norms[0]}), which makes the per-sample gradient penalty "
                "ill-defined; use gan_zoo.nets.DCGANCritic (layer norm) or a critic without normalization"
            )

    def d_loss(self, real: Tensor, fake: Tensor, labels: Tensor | None) -> LossOutput:
        real_scores = self.discriminate(real, labels)  # (B,)
        fake_scores = self.discriminate(fake, labels)  # (B,)
        critic_loss = d_wasserstein_loss(real_scores, fake_scores)  # E[D(x̃)] − E[D(x)]
        penalty = gradient_penalty(lambda x: self.discriminate(x, labels), real, fake)  # Eq. 3, float32
        loss = critic_loss + self.hparams.gp_weight * penalty  # Alg. 1 line 7, batch mean
        return loss, {"wasserstein": -critic_loss.detach(), "gradient_penalty": penalty.detach()}

    def g_loss(self, real: Tensor, fake: Tensor, labels: Tensor | None) -> LossOutput:
        return g_wasserstein_loss(self.discriminate(fake, labels))  # Alg. 1 line 12
