"""Fully connected generator and discriminators (Goodfellow et al. 2014; the seed's "4 FC layers").

Used by the vanilla GAN on MNIST and, with ``output_activation="identity"``, on the 2-D toy data.
``MaxoutDiscriminator`` is the paper's discriminator: maxout layers (Goodfellow et al. 2013) with dropout.
"""

from __future__ import annotations

from typing import Callable, Sequence

from torch import Tensor, nn

from gan_zoo.nets.layers import View, output_activation, prod

__all__ = ["MLPGenerator", "MLPDiscriminator", "Maxout", "MaxoutDiscriminator"]


def _hidden_stack(
    width: int, hidden: Sequence[int], unit: Callable[[int, int], list[nn.Module]], dropout: float,
    input_dropout: float = 0.0,
) -> tuple[nn.Sequential, int]:
    """Flatten -> [dropout(input_dropout)] -> [unit(width, h) -> dropout(dropout)] per hidden width h.

    Returns the stack and its output width. The layer indices (``body.N``) are those the discriminators
    have always had, so their checkpoints load unchanged.
    """
    layers: list[nn.Module] = [nn.Flatten()]
    if input_dropout > 0:
        layers.append(nn.Dropout(input_dropout))
    for h in hidden:
        layers += unit(width, h)
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = h
    return nn.Sequential(*layers), width


class _FlatDiscriminator(nn.Module):
    """A ``body`` (flat features, (B, F)) and a linear ``head`` to one logit per sample."""

    body: nn.Sequential
    head: nn.Linear

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)  # (B, hidden[-1])

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x)).squeeze(1)  # (B,) logits


class MLPGenerator(nn.Module):
    """z (B, latent_dim) -> x (B, *image_shape) through ``len(hidden) + 1`` linear layers.

    Args:
        latent_dim: size of z.
        image_shape: shape of one sample, e.g. (1, 28, 28) or (2,).
        hidden: widths of the hidden layers.
        output: ``"tanh"`` for images in [-1, 1], ``"identity"`` for unbounded data.
    """

    def __init__(
        self,
        latent_dim: int = 100,
        image_shape: Sequence[int] = (1, 28, 28),
        hidden: Sequence[int] = (256, 512, 1024),
        output: str = "tanh",
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.image_shape = tuple(int(s) for s in image_shape)
        layers: list[nn.Module] = []
        width = latent_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(inplace=True)]
            width = h
        layers += [nn.Linear(width, prod(self.image_shape)), output_activation(output), View(self.image_shape)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)  # (B, *image_shape)


class MLPDiscriminator(_FlatDiscriminator):
    """x (B, *image_shape) -> one logit per sample (B,). ``features`` gives the last hidden layer.

    LeakyReLU(0.2) and dropout: an alternative to the paper's maxout + dropout (``MaxoutDiscriminator``, the
    vanilla GAN's default).
    """

    def __init__(
        self,
        image_shape: Sequence[int] = (1, 28, 28),
        hidden: Sequence[int] = (1024, 512, 256),
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        self.image_shape = tuple(int(s) for s in image_shape)
        self.body, width = _hidden_stack(
            prod(self.image_shape), hidden, lambda i, o: [nn.Linear(i, o), nn.LeakyReLU(0.2, inplace=True)], dropout
        )
        self.head = nn.Linear(width, 1)


class Maxout(nn.Module):
    """A maxout layer (Goodfellow et al. 2013): h_i = max_j (x W_{ij} + b_{ij}), j = 1..pieces.

    (B, in_features) -> (B, out_features); one linear map to out_features · pieces, then the max over
    each unit's ``pieces`` consecutive outputs.
    """

    def __init__(self, in_features: int, out_features: int, pieces: int) -> None:
        super().__init__()
        if pieces < 1:
            raise ValueError(f"a maxout unit needs pieces >= 1, got {pieces}")
        self.out_features, self.pieces = out_features, pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x: Tensor) -> Tensor:
        z = self.linear(x)  # (B, out · pieces)
        return z.view(x.shape[0], self.out_features, self.pieces).amax(dim=2)  # (B, out)

    def extra_repr(self) -> str:
        return f"out_features={self.out_features}, pieces={self.pieces}"


class MaxoutDiscriminator(_FlatDiscriminator):
    """x (B, *image_shape) -> one logit per sample (B,): Goodfellow et al. 2014's MNIST discriminator.

    dropout(input_dropout) -> [Maxout(units, pieces) -> dropout(dropout)] × len(hidden) -> Linear -> logit.
    The paper's released MNIST model: two maxout layers of 240 units × 5 pieces, dropout keeping 80 % of
    the inputs and 50 % of each hidden layer's units (``input_dropout`` 0.2, ``dropout`` 0.5), a sigmoid
    output (here the logit; the loss applies the sigmoid).

    Args:
        image_shape: shape of one sample.
        hidden: units per maxout layer.
        pieces: linear pieces per maxout unit.
        dropout: drop probability after each maxout layer.
        input_dropout: drop probability on the input.
    """

    def __init__(
        self,
        image_shape: Sequence[int] = (1, 28, 28),
        hidden: Sequence[int] = (240, 240),
        pieces: int = 5,
        dropout: float = 0.5,
        input_dropout: float = 0.2,
    ) -> None:
        super().__init__()
        self.image_shape = tuple(int(s) for s in image_shape)
        self.body, width = _hidden_stack(
            prod(self.image_shape), hidden, lambda i, o: [Maxout(i, o, pieces)], dropout, input_dropout
        )
        self.head = nn.Linear(width, 1)
