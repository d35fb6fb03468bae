"""Conditional GAN — Mirza & Osindero, "Conditional Generative Adversarial Nets", arXiv 2014.

Both players see the class label y (Eq. 2):

    min_G max_D V(D, G) = E_{x,y}[log D(x | y)] + E_{z,y}[log(1 − D(G(z | y) | y))]

Conditioning is by concatenation (Sec. 3.2 / 4.1): onehot(y) is joined to z for G and to D's input —
to the flattened image for the MLPs, as K constant label maps (extra input channels) for the
convolutional nets (``gan_zoo.nets.conditional``). Fake samples are drawn with the labels of the real
minibatch, so the fake labels follow the data's class frequencies (Eq. 2's y ~ p_data(y)).

Algorithm: Goodfellow 2014, Algorithm 1 with y passed to both nets (the base loop already forwards the
batch labels to ``generate``/``discriminate``), non-saturating G loss by default.

Deviations from the paper:
* The default nets join the labels at the input layer (the seed's form; MLP widths of the vanilla GAN, LeakyReLU(0.2)
  + dropout in D). The paper maps z and y through separate hidden layers first (G: z -> 200 ReLU, y -> 1000 ReLU,
  joined -> 1200 -> 784; D: maxout on x and y separately, then a joint maxout; dropout 0.5 in both):
  ``ConditionalTowerGenerator`` and ``ConditionalMaxoutDiscriminator``, used by ``configs/cgan/mnist_mlp.yaml``,
  where the input-joined MLPs collapsed onto one image for every label (docs/studies.md, "cGAN in the paper's form").
* z ~ N(0, I) instead of the paper's uniform noise (``latent_prior: uniform`` restores it).
* tanh output because data are scaled to [-1, 1].
* Adam(2e-4, β1 = 0.5) instead of SGD with decaying learning rate and rising momentum.
* The DCGAN-style conditional nets (label maps as channels) are an extension for Fashion-MNIST and CIFAR-10.

Sampling: ``sample(n, labels=y)`` generates the chosen classes; without labels every class equally often
(``gan_zoo.sampling.balanced_labels``, the protocol shared with pretrained generators). ``grid_labels(n)``
gives one class per grid row.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from gan_zoo.errors import GanZooError
from gan_zoo.models.vanilla_gan import VanillaGAN
from gan_zoo.registry import register_model
from gan_zoo.sampling import class_rows

__all__ = ["CGAN", "class_rows"]


@register_model(
    "cgan",
    defaults={
        "generator": {
            "class_path": "gan_zoo.nets.conditional.ConditionalMLPGenerator",
            "init_args": {"latent_dim": 100, "num_classes": 10, "image_shape": [1, 28, 28]},
        },
        "discriminator": {
            "class_path": "gan_zoo.nets.conditional.ConditionalMLPDiscriminator",
            "init_args": {"num_classes": 10, "image_shape": [1, 28, 28]},
        },
    },
    tiny={
        "generator": {"init_args": {"latent_dim": 8, "hidden": [16, 16]}},
        "discriminator": {"init_args": {"hidden": [16, 16]}},
    },
    conditional=True,
)
class CGAN(VanillaGAN):
    """Mirza & Osindero 2014: the GAN game with the label y given to G and D (Eq. 2).

    The nets must take ``(input, labels)`` and expose the same ``num_classes`` (see
    ``gan_zoo.nets.conditional``). Args are ``VanillaGAN``'s.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        g_classes = getattr(self.generator, "num_classes", None)
        d_classes = getattr(self.discriminator, "num_classes", None)
        if not isinstance(g_classes, int) or g_classes != d_classes:
            raise GanZooError(
                f"CGAN needs conditional nets with the same int `num_classes` (got generator {g_classes!r}, "
                f"discriminator {d_classes!r}); use gan_zoo.nets.conditional.* and set num_classes on both"
            )

    @property
    def num_classes(self) -> int:
        return self.generator.num_classes

    def on_gan_fit_start(self) -> None:
        # The class count is the data's: a config whose nets disagree with the data module fails here,
        # before any step (a dataset without labels has num_classes None).
        dm = getattr(self.trainer, "datamodule", None)
        data_classes = getattr(dm, "num_classes", None) if dm is not None else None
        if dm is not None and data_classes != self.num_classes:
            raise GanZooError(
                f"CGAN nets have num_classes={self.num_classes} but {type(dm).__name__} has "
                f"num_classes={data_classes}; set the nets' num_classes to the data's (a labeled dataset is required)"
            )

    @staticmethod
    def _require(labels: Tensor | None, what: str) -> Tensor:
        if labels is None:
            raise ValueError(f"CGAN.{what} needs labels (B,) of class indices; the batch carried none")
        return labels

    def generate(self, z: Tensor, labels: Tensor | None = None, net: nn.Module | None = None) -> Tensor:
        return (net or self.generator)(z, self._require(labels, "generate"))

    def discriminate(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.discriminator(x, self._require(labels, "discriminate"))

    def features(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.discriminator.features(x, self._require(labels, "features"))
