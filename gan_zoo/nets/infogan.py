"""InfoGAN nets (Chen et al. 2016, Appendix C, Table 1 — MNIST), with the size knobs exposed.

Generator input: the whole latent vector [z, onehot(c_cat), c_cont] of size Z + K + J (74 = 62 + 10 + 2 for
MNIST). ``latent_dim`` = Z is the incompressible noise only. The generator owns this layout: ``draw_codes``
samples (z, c_cat, c_cont) from the priors, ``make_latent`` / ``split_latent`` build and take apart the
input, and ``draw_latent`` is what ``gan_zoo.sampling`` calls, so the model and a pretrained generator sample
the same way.

    G: (B, Z+K+J) -> FC hidden, BN, ReLU -> FC (2w·s0·s0), BN, ReLU -> (B, 2w, s0, s0)
       -> [4×4 up-conv /2, BN, ReLU] × (n − 1) -> 4×4 up-conv /2 -> tanh            (paper: w = 64, hidden = 1024)
    D body: 4×4 conv /2, lReLU -> [4×4 conv /2, BN, lReLU] × (n − 1) -> FC hidden, BN, lReLU   (B, hidden)
    D head: FC -> 1 logit
    Q head (shares D's body): FC 128, BN, lReLU -> FC (K logits, J means [, J log-variances])

Spatial plan as in ``nets/dcgan.py``: 28 -> s0 = 7 with two stages (the paper's 7×7×128 -> 14 -> 28).

Continuous codes: Q(c_cont | x) is a factored Gaussian. With ``learn_variance=False`` (default) σ is
fixed to 1 and the head outputs the means only, as the authors' released MNIST setting does
(``fix_std=True``); with ``learn_variance=True`` the head also outputs log σ² (the paper's general form).
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_zoo.nets.dcgan import spatial_plan
from gan_zoo.nets.layers import check_square_image, init_dcgan_weights_
from gan_zoo.sampling import LatentPrior, sample_latent

__all__ = ["InfoGANGenerator", "InfoGANDiscriminator", "QOutput"]


class QOutput(NamedTuple):
    """Q(c | x) parameters: categorical logits (B, K), Gaussian means (B, J) and log-variances (B, J)."""

    cat_logits: Tensor
    cont_mean: Tensor
    cont_log_var: Tensor


class InfoGANGenerator(nn.Module):
    """[z, onehot(c_cat), c_cont] (B, Z + K + J) -> images (B, C, S, S) in [-1, 1].

    Args:
        latent_dim: Z, the incompressible noise (62 for MNIST in the paper).
        num_categories: K, values of the categorical code (10 for MNIST).
        num_continuous: J, continuous codes (2 for MNIST).
        image_shape: (C, S, S).
        hidden: width of the first FC layer (paper: 1024).
        base_channels: w, channels of the last hidden up-conv map (paper: 64; the 7×7 map has 2w = 128).
    """

    def __init__(
        self,
        latent_dim: int = 62,
        num_categories: int = 10,
        num_continuous: int = 2,
        image_shape: Sequence[int] = (1, 28, 28),
        hidden: int = 1024,
        base_channels: int = 64,
    ) -> None:
        super().__init__()
        if num_categories < 2 or num_continuous < 0:
            raise ValueError(f"need num_categories >= 2 and num_continuous >= 0, got {num_categories}, {num_continuous}")
        self.latent_dim = latent_dim
        self.num_categories = num_categories
        self.num_continuous = num_continuous
        self.input_dim = latent_dim + num_categories + num_continuous
        self.image_shape = check_square_image(image_shape)
        channels, size, _ = self.image_shape
        start, stages = spatial_plan(size)
        width = base_channels * 2 ** (stages - 1)
        self.start, self.width = start, width
        self.fc = nn.Sequential(
            nn.Linear(self.input_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(True),
            nn.Linear(hidden, width * start * start), nn.BatchNorm1d(width * start * start), nn.ReLU(True),
        )
        layers: list[nn.Module] = []
        for _ in range(stages - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2), nn.ReLU(True)]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]
        self.conv = nn.Sequential(*layers)
        init_dcgan_weights_(self)

    # ------------------------------------------------------------------ the latent layout
    def draw_codes(
        self,
        n: int,
        prior: LatentPrior = "uniform",
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """z ~ prior (n, Z), c_cat ~ Cat(K) uniform (n,), c_cont ~ U(−1, 1)^J (n, J) (Sec. 7.1), on ``device``
        (default: the ``generator``'s, else the CPU)."""
        if device is None and generator is not None:
            device = generator.device
        z = sample_latent(n, self.latent_dim, prior, generator, device)
        categories = torch.randint(self.num_categories, (n,), generator=generator, device=device)
        continuous = sample_latent(n, self.num_continuous, "uniform", generator, device)
        return z, categories, continuous

    def make_latent(self, z: Tensor, categories: Tensor, continuous: Tensor) -> Tensor:
        """[z (B, Z), onehot(categories (B,)) (B, K), continuous (B, J)] -> G's input (B, Z + K + J)."""
        onehot = F.one_hot(categories.to(z.device).long(), self.num_categories).to(z)
        return torch.cat([z, onehot, continuous.to(z)], dim=1)

    def split_latent(self, latent: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Inverse of ``make_latent``: (z (B, Z), category indices (B,), continuous codes (B, J))."""
        z_dim, k = self.latent_dim, self.num_categories
        return latent[:, :z_dim], latent[:, z_dim : z_dim + k].argmax(dim=1), latent[:, z_dim + k :]

    def draw_latent(
        self,
        n: int,
        prior: LatentPrior = "uniform",
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> Tensor:
        """A whole input (n, Z + K + J) drawn from the priors (``gan_zoo.sampling`` calls this)."""
        return self.make_latent(*self.draw_codes(n, prior, generator, device))

    def forward(self, latent: Tensor, labels: Tensor | None = None, continuous: Tensor | None = None) -> Tensor:
        """G([z, onehot(c_cat), c_cont]).

        Args:
            latent: the whole input (B, Z + K + J), or the noise z alone (B, Z) — then ``labels`` gives
                c_cat and ``continuous`` c_cont (default 0, the prior's centre); this is how a loaded
                pretrained generator is sampled without the model (``gan_zoo.hub``).
            labels: (B,) categorical code values; with a whole latent they replace its categorical part.
            continuous: (B, J) continuous codes, with z alone only.
        """
        z_dim, k = self.latent_dim, self.num_categories
        if latent.shape[1] == z_dim:
            if labels is None:
                raise ValueError(
                    f"InfoGANGenerator got z alone ({z_dim} dims): pass labels=(B,) categorical code values "
                    f"(and optionally continuous=(B, {self.num_continuous})), or the whole latent ({self.input_dim} dims)"
                )
            if continuous is None:
                continuous = latent.new_zeros(latent.shape[0], self.num_continuous)
            latent = self.make_latent(latent, labels, continuous)
        elif latent.shape[1] == self.input_dim:
            if continuous is not None:
                raise ValueError("continuous= is only for z alone; the whole latent already holds the codes")
            if labels is not None:
                latent = self.make_latent(latent[:, :z_dim], labels, latent[:, z_dim + k :])
        else:
            raise ValueError(
                f"InfoGANGenerator expects z ({z_dim} dims) or the whole latent z + codes ({self.input_dim} dims), "
                f"got {latent.shape[1]}"
            )
        h = self.fc(latent).view(-1, self.width, self.start, self.start)  # (B, 2w, s0, s0)
        return self.conv(h)  # (B, C, S, S)


class InfoGANDiscriminator(nn.Module):
    """images (B, C, S, S) -> D logits (B,); ``with_q(x)`` also returns Q's code parameters from the
    same body pass. Q lives inside this module, so D's optimizer updates Q too (the paper's "Q shares all
    convolutional layers with D")."""

    def __init__(
        self,
        image_shape: Sequence[int] = (1, 28, 28),
        num_categories: int = 10,
        num_continuous: int = 2,
        hidden: int = 1024,
        base_channels: int = 64,
        q_hidden: int = 128,
        learn_variance: bool = False,
    ) -> None:
        super().__init__()
        self.image_shape = check_square_image(image_shape)
        self.num_categories = num_categories
        self.num_continuous = num_continuous
        self.learn_variance = learn_variance
        channels, size, _ = self.image_shape
        start, stages = spatial_plan(size)
        layers: list[nn.Module] = [nn.Conv2d(channels, base_channels, 4, 2, 1), nn.LeakyReLU(0.1, True)]  # no BN on input
        width = base_channels
        for _ in range(stages - 1):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2), nn.LeakyReLU(0.1, True)]
            width *= 2
        layers += [
            nn.Flatten(),
            nn.Linear(width * start * start, hidden, bias=False), nn.BatchNorm1d(hidden), nn.LeakyReLU(0.1, True),
        ]
        self.body = nn.Sequential(*layers)  # (B, hidden)
        self.head = nn.Linear(hidden, 1)
        q_out = num_categories + num_continuous * (2 if learn_variance else 1)
        self.q_head = nn.Sequential(
            nn.Linear(hidden, q_hidden, bias=False), nn.BatchNorm1d(q_hidden), nn.LeakyReLU(0.1, True),
            nn.Linear(q_hidden, q_out),
        )
        init_dcgan_weights_(self)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)  # (B, hidden)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x)).squeeze(1)  # (B,) logits

    def q(self, h: Tensor) -> QOutput:
        """Q's parameters from body features h (B, hidden)."""
        out = self.q_head(h)  # (B, K + J [+ J])
        k, j = self.num_categories, self.num_continuous
        mean = out[:, k : k + j]
        log_var = out[:, k + j :] if self.learn_variance else torch.zeros_like(mean)  # σ = 1 when fixed
        return QOutput(out[:, :k], mean, log_var)

    def with_q(self, x: Tensor) -> tuple[Tensor, QOutput]:
        """(D logits (B,), Q(c | x)) from one pass through the shared body."""
        h = self.body(x)
        return self.head(h).squeeze(1), self.q(h)
