"""Layers and nets of Salimans et al. 2016, "Improved Techniques for Training GANs" (no losses, no Lightning).

* ``MinibatchDiscrimination`` (Sec. 3.2) and ``MinibatchDiscriminator``, a wrapper that adds it to any
  discriminator exposing ``features(x) -> (B, F)``.
* ``VirtualBatchNorm`` (Sec. 3.5): normalisation by a fixed reference batch together with the example itself.
  The DCGAN generator uses it through ``DCGANGenerator(norm="virtual_batch")``.
* ``GaussianNoise`` and ``WeightNormLinear``, and the MLP nets of the paper's semi-supervised MNIST model
  (``SemiSupervisedMLPGenerator``, ``SemiSupervisedMLPDiscriminator``; Sec. 5.1 and the authors' MNIST code).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_zoo.nets.layers import View, init_dcgan_weights_, prod

__all__ = [
    "MinibatchDiscrimination",
    "MinibatchDiscriminator",
    "VirtualBatchNorm",
    "GaussianNoise",
    "WeightNormLinear",
    "SemiSupervisedMLPGenerator",
    "SemiSupervisedMLPDiscriminator",
]


# ---------------------------------------------------------------------------------------- minibatch discrimination
class MinibatchDiscrimination(nn.Module):
    """o(x_i) of Salimans et al. 2016, Sec. 3.2, for one batch of features f(x_i) ∈ R^A.

        M_i = f(x_i) · T                      T ∈ R^{A×B×C}, M_i ∈ R^{B×C}
        c_b(x_i, x_j) = exp(−‖M_{i,b} − M_{j,b}‖_L1)
        o(x_i)_b = Σ_{j=1..n} c_b(x_i, x_j)   o(x_i) ∈ R^B

    The sum runs over the whole batch, j = i included, as the paper writes it (the authors' code leaves
    j = i out; that term is exp(0) = 1 for every b, a constant the next layer's bias absorbs).
    The batch is the unit of comparison: call it on real and on fake batches *separately*, as the paper does.

    Args:
        in_features: A, the size of f(x).
        num_kernels: B, the number of similarity features appended.
        kernel_dim: C, the dimension of each kernel's projection.
    """

    def __init__(self, in_features: int, num_kernels: int = 100, kernel_dim: int = 5) -> None:
        super().__init__()
        self.in_features, self.num_kernels, self.kernel_dim = in_features, num_kernels, kernel_dim
        # N(0, 0.05²) entries; the authors' code instead weight-normalises T's columns and sets their scale from
        # the first batch (not reproduced: D learns the scale; models/improved_gan.py, deviations).
        self.T = nn.Parameter(torch.randn(in_features, num_kernels * kernel_dim) * 0.05)

    def forward(self, features: Tensor) -> Tensor:
        n = features.shape[0]
        m = (features @ self.T).view(n, self.num_kernels, self.kernel_dim)  # (n, B, C)
        l1 = (m.unsqueeze(1) - m.unsqueeze(0)).abs().sum(-1)  # (n, n, B): ‖M_{i,b} − M_{j,b}‖_L1
        return torch.exp(-l1).sum(1)  # (n, B): o(x_i)_b = Σ_j c_b(x_i, x_j)

    def extra_repr(self) -> str:
        return f"A={self.in_features}, B={self.num_kernels}, C={self.kernel_dim}"


class MinibatchDiscriminator(nn.Module):
    """Any discriminator with ``features(x) -> (n, F)`` plus minibatch discrimination before its last layer.

    logit(x_i) = w · [h(x_i), o(h(x_i))] + b       (a new linear head over F + B features)

    h is the wrapped net's last hidden layer, the input of its output layer (Sec. 3.2 places the minibatch
    layer there): its ``last_hidden(x)`` where it has one (``DCGANDiscriminator``, whose ``features`` may be
    an earlier layer picked for feature matching), else its ``features(x)``. The wrapped net's own output
    layer is not used. ``features`` stays the wrapped net's ``f(x)`` (one example at a time), so feature
    matching compares per-example statistics of the layer it was given.

    Args:
        discriminator: the wrapped net; needs ``features`` and an ``image_shape`` attribute (to size the head).
        num_kernels: B of ``MinibatchDiscrimination``.
        kernel_dim: C of ``MinibatchDiscrimination``.
    """

    def __init__(self, discriminator: nn.Module, num_kernels: int = 100, kernel_dim: int = 5) -> None:
        super().__init__()
        if not callable(getattr(discriminator, "features", None)):
            raise ValueError(f"{type(discriminator).__name__} has no features(x) method; minibatch discrimination needs one")
        self.discriminator = discriminator
        self.image_shape = tuple(discriminator.image_shape)
        feature_dim = self._feature_dim()
        self.minibatch = MinibatchDiscrimination(feature_dim, num_kernels, kernel_dim)
        self.head = nn.Linear(feature_dim + num_kernels, 1)
        init_dcgan_weights_(self.head)

    @torch.no_grad()
    def _feature_dim(self) -> int:
        was_training = self.discriminator.training
        self.discriminator.eval()  # no batch-norm statistics update from the dry run
        try:
            return int(self.last_hidden(torch.zeros(2, *self.image_shape)).shape[1])
        finally:
            self.discriminator.train(was_training)

    def features(self, x: Tensor) -> Tensor:
        return self.discriminator.features(x)  # (n, F)

    def last_hidden(self, x: Tensor) -> Tensor:
        own = getattr(self.discriminator, "last_hidden", None)
        return own(x) if callable(own) else self.discriminator.features(x)  # (n, F)

    def forward(self, x: Tensor) -> Tensor:
        h = self.last_hidden(x)  # (n, F)
        return self.head(torch.cat([h, self.minibatch(h)], dim=1)).squeeze(1)  # (n,) logits


# ------------------------------------------------------------------------------------------ virtual batch norm
class VirtualBatchNorm(nn.Module):
    """Virtual batch normalisation (Salimans et al. 2016, Sec. 3.5).

    The input's first ``reference_size`` rows are the reference batch R (the net runs its fixed reference
    inputs through itself in the same forward pass, so R's activations follow the current weights); the rest
    are the live examples. Per channel, with E over the batch and (for maps) the spatial positions:

        reference rows:  x̂ = (x − E_R[x]) / sqrt(Var_R[x] + ε)                     (R normalised by itself)
        live example x:  μ = (E_x[x] + N·E_R[x]) / (N + 1),  s = (E_x[x²] + N·E_R[x²]) / (N + 1)
                         x̂ = (x − μ) / sqrt(s − μ² + ε)                           (R together with x itself)
        out = γ · x̂ + β

    so a live example's output never depends on the other live examples. This equals batch norm over the
    N + 1 examples R ∪ {x}. There is no train/eval difference and no running statistics.

    Args:
        num_features: channels C of an input (N + B, C) or (N + B, C, H, W).
        reference_size: N, the number of leading reference rows.
        eps: added to the variance.
    """

    def __init__(self, num_features: int, reference_size: int, eps: float = 1e-5) -> None:
        super().__init__()
        if reference_size < 1:
            raise ValueError(f"reference_size must be >= 1, got {reference_size}")
        self.num_features, self.reference_size, self.eps = num_features, reference_size, eps
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))

    def forward(self, x: Tensor) -> Tensor:
        n = self.reference_size
        if x.shape[0] <= n:
            raise ValueError(f"VirtualBatchNorm expects {n} reference rows followed by the live batch, got {x.shape[0]} rows")
        spatial = tuple(range(2, x.dim()))
        reference, live = x[:n], x[n:]  # (N, C, ...), (B, C, ...)
        ref_mean = reference.mean(dim=(0, *spatial), keepdim=True)  # (1, C, 1...)
        ref_sq = reference.pow(2).mean(dim=(0, *spatial), keepdim=True)
        live_mean = live.mean(dim=spatial, keepdim=True) if spatial else live  # (B, C, 1...): each example alone
        live_sq = live.pow(2).mean(dim=spatial, keepdim=True) if spatial else live.pow(2)
        mean = (live_mean + n * ref_mean) / (n + 1)
        sq = (live_sq + n * ref_sq) / (n + 1)
        ref_out = (reference - ref_mean) * torch.rsqrt((ref_sq - ref_mean.pow(2)).clamp_min(0) + self.eps)
        live_out = (live - mean) * torch.rsqrt((sq - mean.pow(2)).clamp_min(0) + self.eps)
        shape = (1, -1) + (1,) * len(spatial)
        return torch.cat([ref_out, live_out]) * self.weight.view(shape) + self.bias.view(shape)

    def extra_repr(self) -> str:
        return f"{self.num_features}, reference_size={self.reference_size}, eps={self.eps}"


# ---------------------------------------------------------------------------- the semi-supervised MNIST nets
class GaussianNoise(nn.Module):
    """x + N(0, std²) in training mode, identity in eval mode (the paper's MNIST discriminator, Sec. 5.1)."""

    def __init__(self, std: float) -> None:
        super().__init__()
        self.std = std

    def forward(self, x: Tensor) -> Tensor:
        if self.training and self.std > 0:
            return x + torch.randn_like(x) * self.std
        return x

    def extra_repr(self) -> str:
        return f"std={self.std}"


class WeightNormLinear(nn.Module):
    """y = g · (v / ‖v‖) x + b per output unit (Salimans & Kingma 2016), the paper's dense layers.

    As in the authors' code: v ~ N(0, 0.1), b = 0, g = ``init_scale``; g is learned only with
    ``train_scale`` (their hidden layers keep it fixed, a buffer, at the value the data-dependent init sets).
    ``init_from_data_`` is that init: g and b such that the pre-activations on a batch have zero mean and
    unit variance per unit.
    """

    def __init__(self, in_features: int, out_features: int, init_scale: float = 1.0, train_scale: bool = True) -> None:
        super().__init__()
        self.v = nn.Parameter(torch.randn(out_features, in_features) * 0.1)
        scale = torch.full((out_features,), float(init_scale))
        if train_scale:
            self.g = nn.Parameter(scale)
        else:
            self.register_buffer("g", scale)
        self.b = nn.Parameter(torch.zeros(out_features))

    def weight(self) -> Tensor:
        return self.v * (self.g / self.v.norm(dim=1)).unsqueeze(1)  # (out, in), rows of norm g

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight(), self.b)

    @torch.no_grad()
    def init_from_data_(self, x: Tensor) -> Tensor:
        """Set g ← g / σ, b ← −μ / σ from the pre-activations t = W x of the batch ``x``; returns (t − μ) / σ."""
        t = F.linear(x, self.weight())  # (B, out)
        mean, std = t.mean(0), t.std(0, unbiased=False).clamp_min(1e-8)
        self.g.div_(std)
        self.b.copy_(-mean / std)
        return (t - mean) / std


def init_from_data_(layers: nn.Module, x: Tensor) -> Tensor:
    """Data-dependent init of every ``WeightNormLinear`` in a sequence of layers, in order, on one batch."""
    for layer in layers.children():
        x = layer.init_from_data_(x) if isinstance(layer, WeightNormLinear) else layer(x)
    return x


class SemiSupervisedMLPGenerator(nn.Module):
    """The paper's MNIST generator: z -> [Linear, BN, softplus] × len(hidden) -> weight-normed Linear -> tanh.

    z (B, latent_dim) -> images (B, *image_shape) in [-1, 1] (the authors' sigmoid output on [0, 1] data,
    rescaled to this library's [-1, 1] data range).
    """

    def __init__(self, latent_dim: int = 100, image_shape: Sequence[int] = (1, 28, 28), hidden: Sequence[int] = (500, 500)) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.image_shape = tuple(int(s) for s in image_shape)
        layers: list[nn.Module] = []
        width = latent_dim
        for h in hidden:  # the authors' batch_norm wrapper applies the nonlinearity after BN
            layers += [nn.Linear(width, h, bias=False), nn.BatchNorm1d(h), nn.Softplus()]
            width = h
        layers += [WeightNormLinear(width, prod(self.image_shape)), nn.Tanh(), View(self.image_shape)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)  # (B, *image_shape)


class SemiSupervisedMLPDiscriminator(nn.Module):
    """The paper's MNIST discriminator: a K-class classifier with Gaussian noise before every layer.

    x -> noise(input_noise) -> [WN-Linear, ReLU, noise(hidden_noise)] × len(hidden) -> WN-Linear -> K logits.
    Hidden layers keep their weight-norm scale fixed, the output layer learns it (the authors' code);
    ``init_from_data_`` is their data-dependent init (the model calls it on the first training batch).
    ``forward`` returns the class logits l_1..l_K, shape (B, K); the real/fake logit is logsumexp(l) (the
    model computes it). ``features`` returns the last hidden layer (B, hidden[-1]) before its noise, the
    layer the authors' feature matching uses.

    Args:
        image_shape: shape of one input.
        num_classes: K.
        hidden: hidden widths; the paper's (1000, 500, 250, 250, 250).
        input_noise: std of the input noise, in the units D sees (the paper's 0.3 on [0, 1] pixels).
        hidden_noise: std of the noise after every hidden layer (the paper's 0.5).
        unit_pixels: map this library's [-1, 1] pixels to the authors' [0, 1], x ↦ (x + 1) / 2, before the
            input noise (default). Not a cosmetic choice: the first layer's weight-normed directions v are
            trained with Adam, whose per-weight steps are not invariant to shifting the input. On [-1, 1]
            the background pixels sit at −1, so the noise-driven steps Adam takes on their weights (about lr
            each, whatever the gradient's size) move every pre-activation by Σ_background δv_i · (−1): a
            drift the bias has to chase each step. On [0, 1] the background is 0 and those steps do not
            move it (``tests/test_semi_supervised.py``). MNIST 100 labels, seed 0, one epoch: validation
            error 30.5 % on [-1, 1] pixels (input noise 0.6), 24.9 % on [0, 1] (one run each: a pointer,
            not a measured effect size).
    """

    def __init__(
        self,
        image_shape: Sequence[int] = (1, 28, 28),
        num_classes: int = 10,
        hidden: Sequence[int] = (1000, 500, 250, 250, 250),
        input_noise: float = 0.3,
        hidden_noise: float = 0.5,
        unit_pixels: bool = True,
    ) -> None:
        super().__init__()
        self.image_shape = tuple(int(s) for s in image_shape)
        self.num_classes = num_classes
        self.unit_pixels = unit_pixels
        layers: list[nn.Module] = [nn.Flatten(), GaussianNoise(input_noise)]
        width = prod(self.image_shape)
        for i, h in enumerate(hidden):
            if i > 0:
                layers.append(GaussianNoise(hidden_noise))
            layers += [WeightNormLinear(width, h, train_scale=False), nn.ReLU()]  # fixed g, as the authors'
            width = h
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(GaussianNoise(hidden_noise), WeightNormLinear(width, num_classes, train_scale=True))

    @torch.no_grad()
    def init_from_data_(self, x: Tensor) -> None:
        """The authors' data-dependent init on a batch of real images: every layer's pre-activations get zero
        mean and unit variance (noise on, as in their init pass)."""
        init_from_data_(self.head, init_from_data_(self.body, self.pixels(x)))

    def pixels(self, x: Tensor) -> Tensor:
        """The input as the first layer sees it: (x + 1) / 2 in [0, 1] with ``unit_pixels``, else x."""
        return (x + 1) * 0.5 if self.unit_pixels else x

    def features(self, x: Tensor) -> Tensor:
        return self.body(self.pixels(x))  # (B, hidden[-1])

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))  # (B, K) class logits
