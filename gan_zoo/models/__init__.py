"""Model classes; importing this module registers them (one import line per model)."""

from gan_zoo.models.base import GANModule
from gan_zoo.models.began import BEGAN
from gan_zoo.models.cgan import CGAN
from gan_zoo.models.dcgan import DCGAN
from gan_zoo.models.infogan import InfoGAN
from gan_zoo.models.progan import ProGAN
from gan_zoo.models.vanilla_gan import VanillaGAN
from gan_zoo.models.wgan import WGAN
from gan_zoo.models.wgan_gp import WGANGP
from gan_zoo.models.improved_gan import ImprovedGAN
from gan_zoo.models.semi_supervised_gan import SemiSupervisedGAN

__all__ = [
    "GANModule", "BEGAN", "CGAN", "InfoGAN", "WGAN", "WGANGP", "DCGAN", "VanillaGAN", "ProGAN", "ImprovedGAN",
    "SemiSupervisedGAN",
]
