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

from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_zoo.errors import GanZooError
from gan_zoo.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from gan_zoo.nets.layers import View, check_square_image, output_activation, prod
from gan_zoo.nets.mlp import Maxout, MLPDiscriminator, MLPGenerator, _hidden_stack

__all__ = [
    "one_hot_labels",
    "ConditionalMLPGenerator",
    "ConditionalMLPDiscriminator",
    "ConditionalTowerGenerator",
    "ConditionalMaxoutDiscriminator",
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


def _relu_layer(width: int, out: int) -> list[nn.Module]:
    """A ReLU hidden layer, as a unit for ``_hidden_stack``."""
    return [nn.Linear(width, out), nn.ReLU()]


def _maxout_layer(pieces: int) -> Callable[[int, int], list[nn.Module]]:
    """A maxout hidden layer of ``pieces`` pieces per unit, as a unit for ``_hidden_stack``."""
    return lambda width, out: [Maxout(width, out, pieces)]


class ConditionalTowerGenerator(nn.Module):
    """Mirza & Osindero 2014's MNIST generator (Sec. 4.1): z and y each through their own hidden layer first.

        z (B, Z)  -> Linear -> ReLU        (B, z_hidden = 200)
        y (B, K)  -> Linear -> ReLU        (B, y_hidden = 1000)     (one-hot y)
        concat                             (B, 1200)
        -> [Linear -> ReLU] per ``joint_hidden`` width (the paper: one layer of 1200)
        -> Linear -> tanh                  (B, *image_shape)

    ``dropout`` 0.5 after each hidden layer is the paper's ("applied to both the generator and discriminator"):
    G is then a random function of (z, y) while it trains, and deterministic in eval mode, where samples are
    drawn. On MNIST it is what made the rows of a class grid follow their labels (``configs/cgan/mnist_mlp.yaml``).
    Deviation: tanh instead of the paper's sigmoid output (the data are scaled to [-1, 1]).
    """

    def __init__(
        self,
        latent_dim: int = 100,
        num_classes: int = 10,
        image_shape: Sequence[int] = (1, 28, 28),
        z_hidden: int = 200,
        y_hidden: int = 1000,
        joint_hidden: Sequence[int] = (1200,),
        dropout: float = 0.5,
        output: str = "tanh",
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.num_classes = _check_num_classes(num_classes)
        self.image_shape = tuple(int(s) for s in image_shape)
        self.z_tower, _ = _hidden_stack(latent_dim, [z_hidden], _relu_layer, dropout)
        self.y_tower, _ = _hidden_stack(num_classes, [y_hidden], _relu_layer, dropout)
        self.joint, width = _hidden_stack(z_hidden + y_hidden, joint_hidden, _relu_layer, dropout)
        self.joint.extend([nn.Linear(width, prod(self.image_shape)), output_activation(output), View(self.image_shape)])

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        y = one_hot_labels(labels, self.num_classes, z.dtype)  # (B, K)
        return self.joint(torch.cat([self.z_tower(z), self.y_tower(y)], dim=1))  # (B, *image_shape)


class ConditionalMaxoutDiscriminator(nn.Module):
    """Mirza & Osindero 2014's MNIST discriminator (Sec. 4.1): maxout towers for x and y, then a joint maxout.

        flatten(x) (B, CHW) -> Maxout(x_units = 240, x_pieces = 5) -> dropout   (B, 240)
        onehot(y)  (B, K)   -> Maxout(y_units = 50,  y_pieces = 5) -> dropout   (B, 50)
        concat                                                                  (B, 290)
        -> Maxout(joint_units = 240, joint_pieces = 4) -> dropout               (B, 240)  ``features``
        -> Linear -> one logit per sample (the paper's sigmoid unit; the loss applies the sigmoid)

    ``dropout`` is the paper's 0.5. ``input_dropout`` (default 0) drops input pixels as the vanilla GAN's
    released model does; the cGAN paper names dropout only for the hidden layers.
    """

    def __init__(
        self,
        image_shape: Sequence[int] = (1, 28, 28),
        num_classes: int = 10,
        x_units: int = 240,
        x_pieces: int = 5,
        y_units: int = 50,
        y_pieces: int = 5,
        joint_units: int = 240,
        joint_pieces: int = 4,
        dropout: float = 0.5,
        input_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.image_shape = tuple(int(s) for s in image_shape)
        self.num_classes = _check_num_classes(num_classes)
        self.x_tower, _ = _hidden_stack(prod(self.image_shape), [x_units], _maxout_layer(x_pieces), dropout, input_dropout)
        self.y_tower, _ = _hidden_stack(num_classes, [y_units], _maxout_layer(y_pieces), dropout)
        self.joint, _ = _hidden_stack(x_units + y_units, [joint_units], _maxout_layer(joint_pieces), dropout)
        self.head = nn.Linear(joint_units, 1)

    def features(self, x: Tensor, labels: Tensor) -> Tensor:
        y = one_hot_labels(labels, self.num_classes, x.dtype)  # (B, K)
        return self.joint(torch.cat([self.x_tower(x), self.y_tower(y)], dim=1))  # (B, joint_units)

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        return self.head(self.features(x, labels)).squeeze(1)  # (B,) logits


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
