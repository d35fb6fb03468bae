"""Critic regularizers as pure functions: the WGAN-GP gradient penalty and WGAN weight clipping.

Gradient penalty (Gulrajani et al. 2017, Eq. 3 and Algorithm 1, lines 4-8), per sample i:

    ε_i ~ U[0, 1]                                  one scalar per *sample*, broadcast over its dims
    x̂_i = ε_i x_i + (1 − ε_i) x̃_i                  x real, x̃ = G(z) fake
    GP  = E_i[(‖∇_x̂ D(x̂_i)‖₂ − 1)²]               the norm over *all* of sample i's dimensions

A common bug takes the norm over one axis only (e.g. ``grad.norm(dim=1)`` on (B, C, H, W) images,
the channel axis), which penalizes per-pixel norms instead of the per-sample norm of the paper; here
the gradient is flattened to (B, C·H·W) first.

The penalty is computed in float32 with autocast disabled (the gradient of a float16 critic is badly
scaled and the penalty's square amplifies the error), and with ``create_graph=True`` so the backward
pass of the critic loss differentiates through ∇_x̂ D (double backward). Under DDP nothing special is
needed: the inner ``autograd.grad`` asks only for input gradients (no parameter gradients are
accumulated, so DDP's all-reduce hooks do not fire) and the outer backward syncs parameter gradients
as usual.

Weight clipping (Arjovsky et al. 2017, Algorithm 1, line 7): w ← clip(w, −c, c) for every critic
parameter after every critic update.

Historical averaging (Salimans et al. 2016, Sec. 3.3): each player's cost gets the term

    ‖θ − (1/t) Σ_{i=1..t} θ[i]‖²                  θ[i] the player's parameters at time i

``HistoricalAverage`` keeps the running mean as buffers (so checkpoints carry it and a resumed run continues
the same average). θ[1] is the parameters it was built with; ``update_`` appends the parameters after every
step, so at step t the mean covers θ[1..t] with θ[t] the current parameters (penalty 0 at the first step).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

__all__ = ["interpolate", "input_gradient_norms", "gradient_penalty", "drift_penalty", "clip_weights_", "HistoricalAverage"]


def interpolate(real: Tensor, fake: Tensor, epsilon: Tensor | None = None) -> Tensor:
    """x̂ = ε x + (1 − ε) x̃ with one ε per sample (Alg. 1, lines 4-6).

    Args:
        real, fake: (B, ...) batches of the same shape.
        epsilon: (B,) mixing weights; default ε ~ U[0, 1] drawn from the global RNG.
    Returns:
        (B, ...) interpolates, detached from ``real``/``fake``.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake batches must have the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}")
    batch = real.shape[0]
    if epsilon is None:
        epsilon = torch.rand(batch, device=real.device, dtype=real.dtype)
    if epsilon.shape != (batch,):
        raise ValueError(f"epsilon must have shape ({batch},), one weight per sample; got {tuple(epsilon.shape)}")
    eps = epsilon.to(real).view(batch, *([1] * (real.dim() - 1)))  # (B, 1, ..., 1): per sample, not per pixel
    return eps * real.detach() + (1 - eps) * fake.detach()


def input_gradient_norms(critic: Callable[[Tensor], Tensor], x: Tensor, create_graph: bool = True) -> Tensor:
    """‖∇_x D(x_i)‖₂ for every sample, the norm taken over all of a sample's dimensions.

    Args:
        critic: maps (B, ...) to (B,) scores.
        x: (B, ...) inputs (detached; a leaf requiring grad is made here).
        create_graph: keep the graph of the gradient so a loss on the norms can be backpropagated.
    Returns:
        (B,) float32 norms.
    """
    with torch.autocast(device_type=x.device.type, enabled=False):
        x = x.detach().float().requires_grad_(True)
        scores = critic(x).float()  # (B,)
        if scores.shape != (x.shape[0],):
            raise ValueError(f"the critic must return one score per sample, shape ({x.shape[0]},); got {tuple(scores.shape)}")
        # Σ_i D(x_i) has ∂/∂x_i = ∇D(x_i): samples do not interact unless the critic mixes the batch
        # (batch norm), which is why WGAN-GP critics use layer norm or no normalization.
        (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=create_graph)
        return grad.flatten(1).norm(2, dim=1)  # (B,): per-sample norm over C·H·W, never per pixel


def gradient_penalty(
    critic: Callable[[Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    epsilon: Tensor | None = None,
    target: float = 1.0,
) -> Tensor:
    """E[(‖∇_x̂ D(x̂)‖₂ − target)²] on per-sample random interpolates (Gulrajani 2017, Eq. 3, without λ).

    Args:
        critic: maps (B, ...) to (B,) scores; a conditional model passes ``lambda x: D(x, y)``.
        real, fake: (B, ...) batches; both are detached (the penalty trains the critic only).
        epsilon: (B,) interpolation weights; default U[0, 1] per sample.
        target: the norm the penalty pulls towards (1 for the 1-Lipschitz constraint).
    Returns:
        a float32 scalar with a graph through the critic's parameters (double backward).
    """
    x_hat = interpolate(real.float(), fake.float(), epsilon)  # (B, ...), mixed in float32 (ε too)
    norms = input_gradient_norms(critic, x_hat, create_graph=True)  # (B,)
    return (norms - target).pow(2).mean()


def drift_penalty(real_scores: Tensor) -> Tensor:
    """E_{x~P_r}[D(x)²] (Karras et al. 2018, Appendix A.1; weighted by ε_drift = 0.001 there): keeps the
    critic's scores on real data near zero, which the Wasserstein loss alone leaves free to drift.

    Args:
        real_scores: (B,) critic scores on real samples.
    Returns:
        a float32 scalar (computed in float32 under mixed precision too).
    """
    return real_scores.float().pow(2).mean()


@torch.no_grad()
def clip_weights_(module: nn.Module, clip_value: float) -> None:
    """Clamp every parameter of ``module`` into [−clip_value, clip_value] in place (WGAN Alg. 1, line 7).

    All parameters are clipped, batch-norm scales and shifts included, as in the reference code.
    """
    if clip_value <= 0:
        raise ValueError(f"clip_value must be > 0, got {clip_value}")
    for p in module.parameters():
        p.clamp_(-clip_value, clip_value)


class HistoricalAverage(nn.Module):
    """Running mean of a module's parameters, and the historical-averaging penalty (Salimans 2016, Sec. 3.3).

    The means are buffers ``mean_0, mean_1, ...`` (one per parameter of the tracked module, in
    ``parameters()`` order) and ``count`` = t, the number of parameter values averaged. The tracked module
    is passed to each call, not stored, so it is not registered twice.

    Under AMP the parameters (and so the means) stay float32 and the penalty is plain elementwise float32
    arithmetic; add it to the loss *before* ``manual_backward`` so the grad scaler scales it with the rest.

    Args:
        module: the player whose parameters are averaged; its current parameters are θ[1].
    """

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.num_params = 0
        for i, p in enumerate(module.parameters()):
            self.register_buffer(f"mean_{i}", p.detach().clone())
            self.num_params = i + 1
        self.register_buffer("count", torch.ones((), dtype=torch.long))  # t: θ[1] is averaged already

    def means(self) -> list[Tensor]:
        return [getattr(self, f"mean_{i}") for i in range(self.num_params)]

    def _params(self, module: nn.Module) -> list[Tensor]:
        params = list(module.parameters())
        if len(params) != self.num_params:
            raise ValueError(f"HistoricalAverage tracks {self.num_params} parameters, the module has {len(params)}")
        return params

    def penalty(self, module: nn.Module) -> Tensor:
        """Σ_params ‖θ − mean‖², a scalar with a graph into ``module``'s parameters (the means are constants)."""
        terms = [(p - m).pow(2).sum() for p, m in zip(self._params(module), self.means())]
        return torch.stack(terms).sum() if terms else torch.zeros(())

    @torch.no_grad()
    def restart_(self, module: nn.Module) -> None:
        """Start the history at the module's current parameters: mean ← θ, t ← 1 (a new fit from loaded weights)."""
        self.count.fill_(1)
        for p, m in zip(self._params(module), self.means()):
            m.copy_(p.detach())

    @torch.no_grad()
    def update_(self, module: nn.Module) -> None:
        """Average in the current parameters: mean ← mean + (θ − mean) / (t + 1); t ← t + 1. No host sync."""
        self.count += 1
        for p, m in zip(self._params(module), self.means()):
            m.add_((p.detach().to(m.dtype) - m) / self.count)
