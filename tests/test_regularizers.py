"""gan_zoo.regularizers: the WGAN-GP gradient penalty against closed forms, and weight clipping."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from gan_zoo.regularizers import clip_weights_, gradient_penalty, input_gradient_norms, interpolate


def linear_critic(w: torch.Tensor, b: float = 0.3):
    """D(x) = <w, x> + b per sample, computed in float64: ∇_x D = w everywhere."""
    return lambda x: (x.double() * w.double()).flatten(1).sum(1) + b


def test_penalty_equals_closed_form_for_linear_critic():
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(3, 4, 4, generator=gen)
    real, fake = torch.randn(6, 3, 4, 4, generator=gen), torch.randn(6, 3, 4, 4, generator=gen)
    expected = (w.double().norm() - 1).pow(2).item()  # (‖w‖ − 1)², whatever the interpolates are
    assert gradient_penalty(linear_critic(w), real, fake).item() == pytest.approx(expected, rel=1e-6)
    # A critic that is exactly 1-Lipschitz along its gradient has zero penalty.
    unit = w / w.norm()
    assert gradient_penalty(linear_critic(unit), real, fake).item() == pytest.approx(0.0, abs=1e-10)


def test_penalty_gradient_is_the_closed_form_double_backward():
    # d/dw (‖w‖ − 1)² = 2 (‖w‖ − 1) w / ‖w‖; reaching w needs the graph of ∇_x D (create_graph=True).
    gen = torch.Generator().manual_seed(1)
    critic = nn.Sequential(nn.Flatten(), nn.Linear(12, 1))
    real, fake = torch.randn(5, 3, 2, 2, generator=gen), torch.randn(5, 3, 2, 2, generator=gen)
    penalty = gradient_penalty(lambda x: critic(x).squeeze(1), real, fake)
    penalty.backward()
    w = critic[1].weight.detach().double()
    expected = 2 * (w.norm() - 1) * w / w.norm()
    torch.testing.assert_close(critic[1].weight.grad.double(), expected, rtol=1e-5, atol=1e-7)
    assert critic[1].bias.grad is None  # the bias is not in the graph of ∇_x D


def test_penalty_uses_per_sample_norms_not_per_pixel():
    # w has unit norm over all of (C, H, W), but the norm over the channel axis at each pixel is not 1:
    # the per-sample penalty is 0, the per-pixel version (the popular bug) is not.
    w = torch.zeros(2, 2, 2)
    w[0, 0, 0] = 0.6
    w[1, 0, 0] = 0.8  # pixel (0, 0): channel norm 1
    w = w / w.norm()  # already 1 here; the other three pixels have channel norm 0
    real, fake = torch.randn(4, 2, 2, 2), torch.randn(4, 2, 2, 2)
    assert gradient_penalty(linear_critic(w), real, fake).item() == pytest.approx(0.0, abs=1e-10)
    per_pixel = ((w.norm(dim=0) - 1) ** 2).mean().item()  # what grad.norm(dim=1) on (B, C, H, W) would give
    assert per_pixel == pytest.approx(0.75)


def test_penalty_norms_for_a_nonlinear_critic_match_float64_reference():
    # D(x) = Σ x² per sample has ∇D(x̂_i) = 2 x̂_i, so ‖∇‖ = 2 ‖x̂_i‖ with x̂_i = ε_i x_i + (1 − ε_i) x̃_i.
    gen = torch.Generator().manual_seed(2)
    real, fake = torch.randn(5, 3, 4, 4, generator=gen), torch.randn(5, 3, 4, 4, generator=gen)
    eps = torch.tensor([0.0, 0.25, 0.5, 0.9, 1.0])
    penalty = gradient_penalty(lambda x: x.pow(2).flatten(1).sum(1), real, fake, epsilon=eps)
    r, f, e = real.double(), fake.double(), eps.double()
    x_hat = e.view(5, 1, 1, 1) * r + (1 - e.view(5, 1, 1, 1)) * f
    norms = 2 * x_hat.flatten(1).norm(dim=1)
    assert penalty.item() == pytest.approx(((norms - 1) ** 2).mean().item(), rel=1e-5)


def test_interpolates_use_one_epsilon_per_sample():
    torch.manual_seed(3)
    real, fake = torch.randn(8, 3, 4, 4), torch.randn(8, 3, 4, 4)
    x_hat = interpolate(real, fake)
    ratio = ((x_hat - fake) / (real - fake)).flatten(1)  # ε_i at every coordinate of sample i
    torch.testing.assert_close(ratio, ratio[:, :1].expand_as(ratio), rtol=1e-4, atol=1e-4)
    assert ((ratio[:, 0] >= 0) & (ratio[:, 0] <= 1)).all()
    assert ratio[:, 0].unique().numel() == 8  # independent draws per sample
    with pytest.raises(ValueError, match="one weight per sample"):
        interpolate(real, fake, epsilon=torch.rand(8, 1, 4, 4))
    with pytest.raises(ValueError, match="same shape"):
        interpolate(real, fake[:4])


def test_penalty_is_float32_under_autocast():
    torch.manual_seed(4)
    critic = nn.Sequential(nn.Flatten(), nn.Linear(48, 32), nn.Tanh(), nn.Linear(32, 1))
    real, fake = torch.randn(6, 3, 4, 4).bfloat16(), torch.randn(6, 3, 4, 4).bfloat16()  # as AMP hands them over
    eps = torch.rand(6)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert critic(real.float()).dtype == torch.bfloat16  # autocast is really on for the critic outside
        mixed = gradient_penalty(lambda x: critic(x).squeeze(1), real, fake, epsilon=eps)
    assert mixed.dtype == torch.float32
    # Independent float64 reference on the same (bf16-rounded) inputs: a bf16 critic would be off by ~1e-3.
    critic64 = copy.deepcopy(critic).double()
    e = eps.double().view(6, 1, 1, 1)
    x_hat = (e * real.double() + (1 - e) * fake.double()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic64(x_hat).sum(), x_hat)
    reference = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
    assert mixed.item() == pytest.approx(reference.item(), rel=1e-5)


def test_input_gradient_norms_reject_batch_mixing_shapes():
    with pytest.raises(ValueError, match="one score per sample"):
        input_gradient_norms(lambda x: x.sum(), torch.randn(3, 2))


def test_clip_weights_bounds_every_parameter_and_keeps_small_ones():
    torch.manual_seed(5)
    net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 1))
    before = [p.detach().clone() for p in net.parameters()]
    clip_weights_(net, 0.05)
    for old, new in zip(before, net.parameters()):
        assert new.abs().max() <= 0.05
        expected = torch.where(old.abs() <= 0.05, old, 0.05 * old.sign())  # clamp, written plainly
        torch.testing.assert_close(new.detach(), expected)
    assert net[1].weight.abs().max() <= 0.05  # batch-norm scales are clipped too (reference code)
    with pytest.raises(ValueError, match="clip_value"):
        clip_weights_(net, 0.0)
