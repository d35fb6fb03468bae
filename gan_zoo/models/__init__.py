"""Model classes; importing this module registers them (one import line per model)."""

from gan_zoo.models.base import GANModule
from gan_zoo.models.dcgan import DCGAN
from gan_zoo.models.vanilla_gan import VanillaGAN

__all__ = ["GANModule", "DCGAN", "VanillaGAN"]
