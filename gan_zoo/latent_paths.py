"""Paths through a generator's latent space: interpolation strips and code traversals.

Both build generator *inputs* only (on the CPU), from the same seeded draws as ``gan_zoo.sampling``, so a
training model and the pretrained generator exported from it give the same pictures.

* ``interpolation_inputs``: R rows, each a path of S steps between two latents drawn as
  ``sampling_inputs(net, 2R, prior, seed=seed)`` gives them (starts = the first R, ends = the last R). For a
  Gaussian prior the path is spherical (White 2016, "Sampling Generative Networks": a linear path between
  two N(0, I) draws passes through the low-norm interior the generator rarely saw; slerp keeps the norm near
  sqrt(D)); for a uniform prior it is linear (the cube is convex). Labels are held fixed along a row.
  InfoGAN-style inputs [z, onehot(c), c_cont] interpolate z by the prior's rule and c_cont linearly, and keep
  each row's categorical code.
* ``traversal_inputs``: InfoGAN's Fig. 2: one shared z, rows = categorical code values, columns = one
  continuous code swept over ``values`` (the others at 0).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gan_zoo.sampling import LatentPrior, label_count, sample_latent, sampling_inputs

__all__ = ["lerp", "slerp", "interpolate", "interpolation_inputs", "traversal_inputs", "has_codes"]


def lerp(start: Tensor, end: Tensor, t: Tensor) -> Tensor:
    """(R, D), (R, D), (S,) -> (R, S, D): (1 − t) a + t b."""
    t = t.to(start)[None, :, None]
    return (1 - t) * start[:, None] + t * end[:, None]


def slerp(start: Tensor, end: Tensor, t: Tensor, eps: float = 1e-7) -> Tensor:
    """(R, D), (R, D), (S,) -> (R, S, D) spherical interpolation (Shoemake 1985):
    sin((1 − t)ω)/sin ω · a + sin(tω)/sin ω · b, ω = the angle between a and b; linear where ω ≈ 0."""
    start64, end64 = start.double(), end.double()
    cos = (start64 * end64).sum(-1) / (start64.norm(dim=-1) * end64.norm(dim=-1)).clamp_min(eps)
    omega = cos.clamp(-1, 1).acos()[:, None, None]  # (R, 1, 1)
    t64 = t.double()[None, :, None]  # (1, S, 1)
    sin_omega = omega.sin()
    parallel = sin_omega.abs() < eps
    safe = torch.where(parallel, torch.ones_like(sin_omega), sin_omega)
    w_start = torch.where(parallel, 1 - t64, ((1 - t64) * omega).sin() / safe)
    w_end = torch.where(parallel, t64, (t64 * omega).sin() / safe)
    return (w_start * start64[:, None] + w_end * end64[:, None]).to(start.dtype)


def interpolate(start: Tensor, end: Tensor, t: Tensor, prior: LatentPrior) -> Tensor:
    """The prior's path: slerp for "normal", lerp for "uniform". (R, D), (R, D), (S,) -> (R, S, D)."""
    return slerp(start, end, t) if prior == "normal" else lerp(start, end, t)


def has_codes(net: nn.Module) -> bool:
    """Whether ``net`` takes InfoGAN-style inputs [z, onehot(c_cat), c_cont] (it owns that layout)."""
    return all(callable(getattr(net, name, None)) for name in ("make_latent", "split_latent")) and isinstance(
        getattr(net, "num_continuous", None), int
    )


def interpolation_inputs(
    net: nn.Module, rows: int, steps: int, prior: LatentPrior, labels: Tensor | None = None, seed: int | None = None
) -> tuple[Tensor, Tensor | None]:
    """(inputs (rows·steps, ...), labels (rows·steps,) or None) for an interpolation strip, row-major.

    ``labels`` (rows,) fixes each row's class for labelled nets (default: balanced, row r -> r mod K).
    """
    if rows < 1 or steps < 2:
        raise ValueError(f"an interpolation needs rows >= 1 and steps >= 2, got rows={rows}, steps={steps}")
    if labels is not None:
        labels = torch.as_tensor(labels, dtype=torch.long)
        if labels.shape != (rows,):
            raise ValueError(f"labels must give one class per row, shape ({rows},), got {tuple(labels.shape)}")
    endpoints, endpoint_labels = sampling_inputs(net, 2 * rows, prior, seed=seed)
    if endpoint_labels is not None and labels is None:
        labels = endpoint_labels[:rows]
    elif endpoint_labels is None and labels is not None:
        raise ValueError(f"{type(net).__name__} is unconditional: interpolate without labels")
    elif labels is not None and (labels.min() < 0 or labels.max() >= label_count(net)):
        raise ValueError(f"labels must be class indices in [0, {label_count(net) - 1}], got {labels.unique().tolist()}")
    t = torch.linspace(0, 1, steps)
    start, end = endpoints[:rows], endpoints[rows:]
    if has_codes(net):
        z0, categories, c0 = net.split_latent(start)
        z1, _, c1 = net.split_latent(end)
        z_path = interpolate(z0, z1, t, prior).flatten(0, 1)  # (R·S, Z)
        c_path = lerp(c0, c1, t).flatten(0, 1)  # (R·S, J): the codes' prior is uniform
        inputs = net.make_latent(z_path, categories.repeat_interleave(steps), c_path)
    else:
        inputs = interpolate(start, end, t, prior).flatten(0, 1)  # (R·S, D)
    return inputs, None if labels is None else labels.repeat_interleave(steps)


def traversal_inputs(net: nn.Module, code: int, values: Tensor, prior: LatentPrior, seed: int = 0) -> Tensor:
    """InfoGAN inputs (K·V, Z + K + J), row-major: row k has c_cat = k, column v has c_code = values[v],
    the other continuous codes 0, and one z ~ prior drawn from ``seed`` shared by all."""
    if not has_codes(net):
        raise ValueError(f"{type(net).__name__} has no latent codes to traverse (InfoGAN's generator has)")
    if not 0 <= code < net.num_continuous:
        raise ValueError(f"code must be in [0, {net.num_continuous - 1}], got {code}")
    k, v = net.num_categories, len(values)
    z = sample_latent(1, net.latent_dim, prior, torch.Generator().manual_seed(seed))
    continuous = torch.zeros(k * v, net.num_continuous)
    continuous[:, code] = values.float().repeat(k)  # (K·V,) row-major: the value varies fastest
    categories = torch.arange(k).repeat_interleave(v)
    return net.make_latent(z.expand(k * v, -1), categories, continuous)
