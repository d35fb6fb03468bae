"""Vanilla GAN — Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014.

Value function (Eq. 1), with D's output a logit l and D(x) = σ(l):

    min_G max_D V(D, G) = E_x[log D(x)] + E_z[log(1 − D(G(z)))]

Algorithm 1 (k = ``n_critic`` = 1 in the paper's experiments):
    for each iteration:
        for k steps: sample m noise and m data samples; ascend ∇θ_D (1/m) Σ [log D(x) + log(1 − D(G(z)))]
        sample m noise samples; descend ∇θ_G (1/m) Σ log(1 − D(G(z)))        (``g_loss_type="minimax"``)
        — or, as Sec. 3 recommends in practice, ascend log D(G(z))          (``"nonsaturating"``, default)

Nets: D is the paper's maxout network with dropout (``gan_zoo.nets.MaxoutDiscriminator``: two maxout
layers of 240 units × 5 pieces, dropout 0.2 on the input and 0.5 on hidden units, as in the released
MNIST model); ``gan_zoo.nets.MLPDiscriminator`` (LeakyReLU + dropout) stays available.

Deviations from the paper:
* G is the seed's MLP (256-512-1024 ReLU units, tanh output because data are scaled to [-1, 1]) rather
  than the released model's 1200-1200 units with a sigmoid output.
* Optimizer: Adam(2e-4, β1 = 0.5) instead of SGD with the momentum schedule of the original code.
* z ~ N(0, I) of size 100 (the paper samples uniform noise; ``latent_prior: uniform`` restores it).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from gan_zoo.losses import G_LOSSES, GeneratorLossName, d_bce_loss
from gan_zoo.models.base import GANModule, LossOutput
from gan_zoo.registry import register_model

__all__ = ["VanillaGAN"]


@register_model(
    "vanilla_gan",
    defaults={
        "generator": {"class_path": "gan_zoo.nets.MLPGenerator", "init_args": {"latent_dim": 100, "image_shape": [1, 28, 28]}},
        "discriminator": {"class_path": "gan_zoo.nets.MaxoutDiscriminator", "init_args": {"image_shape": [1, 28, 28]}},
    },
    tiny={
        "generator": {"init_args": {"latent_dim": 8, "hidden": [16, 16]}},
        "discriminator": {"init_args": {"hidden": [16, 16]}},
    },
)
class VanillaGAN(GANModule):
    """Goodfellow 2014, Algorithm 1, on logits. See the module docstring for the equations.

    Args (beyond ``GANModule``'s, which pass through ``**kwargs``):
        g_loss_type: ``"nonsaturating"`` (−log D(G(z)), default) or ``"minimax"`` (log(1 − D(G(z))), Eq. 1).
        real_label: target for real samples in D's loss; 0.9 is one-sided label smoothing (Salimans 2016).
    """

    def __init__(self, *, g_loss_type: GeneratorLossName = "nonsaturating", real_label: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.g_loss_fn = G_LOSSES[g_loss_type]

    def d_loss(self, real: Tensor, fake: Tensor, labels: Tensor | None) -> LossOutput:
        real_logits = self.discriminate(real, labels)  # (B,)
        fake_logits = self.discriminate(fake, labels)  # (B,)
        loss = d_bce_loss(real_logits, fake_logits, real_target=self.hparams.real_label)  # −V(D, G), Eq. 1
        return loss, {"d_real": real_logits.detach().sigmoid().mean(), "d_fake": fake_logits.detach().sigmoid().mean()}

    def g_loss(self, real: Tensor, fake: Tensor, labels: Tensor | None) -> LossOutput:
        return self.g_loss_fn(self.discriminate(fake, labels))
