"""DCGAN — Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks", ICLR 2016 (arXiv 2015).

Objective: the GAN game of Goodfellow 2014 (Eq. 1) with the non-saturating generator loss, so the
model is ``VanillaGAN`` with convolutional nets (``gan_zoo.nets.dcgan``) and the paper's settings (Sec. 4):
* minibatch 128, images scaled to [-1, 1] (tanh range);
* weights ~ N(0, 0.02) (``init_dcgan_weights_``);
* Adam with lr 2e-4 and β1 = 0.5 (β1 = 0.9 "resulted in training oscillation and instability");
* LeakyReLU slope 0.2 in D; batch norm in both nets except G's output and D's input.

Deviations from the paper:
* z ~ N(0, I) of size 100 instead of uniform noise (set ``latent_prior: uniform`` for the paper's).
* Sizes 28 and 32 use the same rules with fewer stages (start maps 7×7 and 4×4); the paper shows 64×64.
* Width: ``base_channels`` 64 by default, so G's 4×4 maps at 64×64 have 512 channels; the paper's Fig. 1 has
  1024 (``base_channels`` 128). Half the width is a quarter of the parameters and trains the configs'
  datasets (``configs/dcgan/*.yaml`` say what they set).
"""

from __future__ import annotations

from gan_zoo.models.vanilla_gan import VanillaGAN
from gan_zoo.registry import DCGAN_NETS_TINY, register_model

__all__ = ["DCGAN"]


@register_model(
    "dcgan",
    defaults={
        "generator": {
            "class_path": "gan_zoo.nets.DCGANGenerator",
            "init_args": {"latent_dim": 100, "image_shape": [3, 64, 64], "base_channels": 64},
        },
        "discriminator": {
            "class_path": "gan_zoo.nets.DCGANDiscriminator",
            "init_args": {"image_shape": [3, 64, 64], "base_channels": 64},
        },
    },
    tiny=DCGAN_NETS_TINY,
)
class DCGAN(VanillaGAN):
    """Radford et al. 2015: the GAN game with the all-convolutional nets and Adam(2e-4, β1 = 0.5)."""
