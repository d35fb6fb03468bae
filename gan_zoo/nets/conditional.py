"""Class-conditional nets by concatenation (Mirza & Osindero 2014, Sec. 4.1; the seed's recipe).

The label y enters as a one-hot vector ``onehot(y)`` of size K = ``num_classes``:

* G(z, y) = G'([z, onehot(y)])                       — joined to the noise, (B, Z + K)
* D(x, y) for MLPs  = D'([flatten(x), onehot(y)])     — joined to the flattened image, (B, C·H·W + K)
* D(x, y) for convs = D'(concat_channels(x, maps(y)))  — K constant label maps, (B, C + K, H, W)

so each conditional net is the unconditional net of ``mlp.py``/``dcgan.py`` with a wider input, built by
composition (the inner net is ``self.net``). Label maps as extra input channels are the usual
convolutional form of "y joined to D's input": every first-layer filter sees the label at every position.

Every net takes ``image_shape`` and ``num_classes``; G keeps ``latent_dim`` = size of z only (labels are
not part of the prior), which is the protocol ``GANModule.sample_latent`` relies on.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_zoo.errors import GanZooError
from gan_zoo.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from gan_zoo.nets.layers import check_square_image, prod
from gan_zoo.nets.mlp import MLPDiscriminator, MLPGenerator

__all__ = [
    "one_hot_labels",
    "ConditionalMLPGenerator",
    "ConditionalMLPDiscriminator",
    "ConditionalDCGANGenerator",
    "ConditionalDCGANDiscriminator",
]


def one_hot_labels(labels: Tensor, num_classes: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """Class indices (B,) -> one-hot rows (B, K); a clear error for out-of-range labels."""
    if labels.dim() != 1:
        raise ValueError(f"labels must be class indices of shape (B,), got shape {tuple(labels.shape)}")
    if labels.numel():
        # Checked where the labels live, without reading them back (which would stall a GPU every step):
        # on the CPU this raises at once, on CUDA it is a device-side assert. Labels a user passes to
        # sample() get a ValueError earlier, in gan_zoo.sampling.sampling_inputs.
        in_range = ((labels >= 0) & (labels < num_classes)).all()
        torch._assert_async(in_range, f"labels must lie in [0, {num_classes - 1}] for num_classes={num_classes}")
    return F.one_hot(labels.long(), num_classes).to(dtype)


def _check_num_classes(num_classes: int) -> int:
    if not isinstance(num_classes, int) or num_classes < 2:
        raise GanZooError(
            f"conditional nets need num_classes >= 2 (the dataset's class count), got {num_classes!r}; "
            "train them on a labeled dataset (MNIST, Fashion-MNIST, CIFAR-10) or set num_classes"
        )
    return num_classes


class ConditionalMLPGenerator(nn.Module):
    """(z (B, Z), y (B,)) -> x (B, *image_shape): ``MLPGenerator`` on [z, onehot(y)] (B, Z + K)."""

    def __init__(
        self,
        latent_dim: int = 100,
        num_classes: int = 10,
        image_shape: Sequence[int] = (1, 28, 28),
        hidden: Sequence[int] = (256, 512, 1024),
        output: str = "tanh",
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.num_classes = _check_num_classes(num_classes)
        self.image_shape = tuple(int(s) for s in image_shape)
        self.net = MLPGenerator(latent_dim + num_classes, self.image_shape, hidden, output)

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        y = one_hot_labels(labels, self.num_classes, z.dtype)  # (B, K)
        return self.net(torch.cat([z, y], dim=1))  # (B, *image_shape)


class ConditionalMLPDiscriminator(nn.Module):
    """(x (B, *image_shape), y (B,)) -> logits (B,): ``MLPDiscriminator`` on [flatten(x), onehot(y)]."""

    def __init__(
        self,
        image_shape: Sequence[int] = (1, 28, 28),
        num_classes: int = 10,
        hidden: Sequence[int] = (1024, 512, 256),
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        self.image_shape = tuple(int(s) for s in image_shape)
        self.num_classes = _check_num_classes(num_classes)
        self.net = MLPDiscriminator((prod(self.image_shape) + num_classes,), hidden, dropout)

    def joint_input(self, x: Tensor, labels: Tensor) -> Tensor:
        return torch.cat([x.flatten(1), one_hot_labels(labels, self.num_classes, x.dtype)], dim=1)  # (B, CHW + K)

    def features(self, x: Tensor, labels: Tensor) -> Tensor:
        return self.net.features(self.joint_input(x, labels))  # (B, hidden[-1])

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        return self.net(self.joint_input(x, labels))  # (B,) logits


class ConditionalDCGANGenerator(nn.Module):
    """(z (B, Z), y (B,)) -> images (B, C, S, S): ``DCGANGenerator`` whose 1×1 input map is [z, onehot(y)]."""

    def __init__(
        self,
        latent_dim: int = 100,
        num_classes: int = 10,
        image_shape: Sequence[int] = (3, 64, 64),
        base_channels: int = 64,
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.num_classes = _check_num_classes(num_classes)
        self.image_shape = check_square_image(image_shape)
        self.net = DCGANGenerator(latent_dim + num_classes, self.image_shape, base_channels)

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        y = one_hot_labels(labels, self.num_classes, z.dtype)  # (B, K)
        return self.net(torch.cat([z, y], dim=1))  # (B, C, S, S)


class ConditionalDCGANDiscriminator(nn.Module):
    """(x (B, C, S, S), y (B,)) -> logits (B,): ``DCGANDiscriminator`` on C + K channels, the K extra
    channels being constant maps of onehot(y) (label k -> map k all ones, the others all zeros)."""

    def __init__(
        self, image_shape: Sequence[int] = (3, 64, 64), num_classes: int = 10, base_channels: int = 64
    ) -> None:
        super().__init__()
        self.image_shape = check_square_image(image_shape)
        self.num_classes = _check_num_classes(num_classes)
        channels, size, _ = self.image_shape
        self.net = DCGANDiscriminator((channels + num_classes, size, size), base_channels)

    def joint_input(self, x: Tensor, labels: Tensor) -> Tensor:
        b, _, h, w = x.shape
        maps = one_hot_labels(labels, self.num_classes, x.dtype)[:, :, None, None].expand(b, self.num_classes, h, w)
        return torch.cat([x, maps], dim=1)  # (B, C + K, H, W)

    def features(self, x: Tensor, labels: Tensor) -> Tensor:
        return self.net.features(self.joint_input(x, labels))

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        return self.net(self.joint_input(x, labels))  # (B,) logits
