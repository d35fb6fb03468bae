"""gan_zoo: the classic GANs for computer vision as paper-faithful PyTorch Lightning modules."""

from gan_zoo.models import BEGAN, CGAN, DCGAN, InfoGAN, WGAN, WGANGP, GANModule, ProGAN, VanillaGAN
from gan_zoo.models import ImprovedGAN, SemiSupervisedGAN
from gan_zoo.hub import load_pretrained, save_pretrained
from gan_zoo.registry import create_model, list_models, model_config, register_model
from gan_zoo.zoo import get_pretrained, list_pretrained

__version__ = "0.1.0"

__all__ = [
    "BEGAN",
    "CGAN",
    "InfoGAN",
    "WGAN",
    "WGANGP",
    "DCGAN",
    "GANModule",
    "VanillaGAN",
    "ProGAN",
    "ImprovedGAN",
    "SemiSupervisedGAN",
    "create_model",
    "load_pretrained",
    "list_pretrained",
    "get_pretrained",
    "save_pretrained",
    "list_models",
    "model_config",
    "register_model",
]
