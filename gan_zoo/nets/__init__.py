"""Networks only: ``nn.Module`` classes with no losses and no Lightning.

Protocol the models rely on:
* a generator has an int attribute ``latent_dim`` and maps z (B, latent_dim) to samples (B, ...);
* a discriminator maps samples to one logit per sample (B,); ``features(x)`` returns (B, F) hidden
  features where a trick needs them (feature matching).
"""

from gan_zoo.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from gan_zoo.nets.mlp import MaxoutDiscriminator, MLPDiscriminator, MLPGenerator

__all__ = ["DCGANDiscriminator", "DCGANGenerator", "MaxoutDiscriminator", "MLPDiscriminator", "MLPGenerator"]
from gan_zoo.nets.began import BEGANDiscriminator, BEGANGenerator  # noqa: E402
from gan_zoo.nets.critic import DCGANCritic  # noqa: E402

__all__ += ["BEGANDiscriminator", "BEGANGenerator", "DCGANCritic"]
from gan_zoo.nets.progan import ProGANDiscriminator, ProGANGenerator  # noqa: E402

__all__ += ["ProGANDiscriminator", "ProGANGenerator"]
from gan_zoo.nets.improved import (  # noqa: E402
    MinibatchDiscrimination,
    MinibatchDiscriminator,
    SemiSupervisedMLPDiscriminator,
    SemiSupervisedMLPGenerator,
    VirtualBatchNorm,
)

__all__ += [
    "MinibatchDiscrimination",
    "MinibatchDiscriminator",
    "SemiSupervisedMLPDiscriminator",
    "SemiSupervisedMLPGenerator",
    "VirtualBatchNorm",
]
