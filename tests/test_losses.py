"""Adversarial losses against their definitions written plainly in float64 (Goodfellow 2014, Eq. 1)."""

import math

import pytest
import torch

from gan_zoo.losses import d_bce_loss, feature_matching_loss, g_minimax_loss, g_nonsaturating_loss


def sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


REAL = [2.0, -0.5, 0.3, 4.0]
FAKE = [-1.0, 0.7, -3.0, 0.0]


def test_d_bce_matches_eq1():
    expected = sum(-math.log(sigmoid(r)) for r in REAL) / 4 + sum(-math.log(1 - sigmoid(f)) for f in FAKE) / 4
    got = d_bce_loss(torch.tensor(REAL, dtype=torch.float64), torch.tensor(FAKE, dtype=torch.float64))
    assert got.item() == pytest.approx(expected, rel=1e-12)


def test_one_sided_label_smoothing_only_touches_real_targets():
    t = 0.9
    expected = sum(-(t * math.log(sigmoid(r)) + (1 - t) * math.log(1 - sigmoid(r))) for r in REAL) / 4
    expected += sum(-math.log(1 - sigmoid(f)) for f in FAKE) / 4
    got = d_bce_loss(torch.tensor(REAL, dtype=torch.float64), torch.tensor(FAKE, dtype=torch.float64), real_target=t)
    assert got.item() == pytest.approx(expected, rel=1e-12)


def test_generator_losses():
    fake = torch.tensor(FAKE, dtype=torch.float64)
    assert g_nonsaturating_loss(fake).item() == pytest.approx(sum(-math.log(sigmoid(f)) for f in FAKE) / 4, rel=1e-12)
    assert g_minimax_loss(fake).item() == pytest.approx(sum(math.log(1 - sigmoid(f)) for f in FAKE) / 4, rel=1e-12)


def test_minimax_saturates_where_nonsaturating_does_not():
    # Goodfellow 2014, Sec. 3: when D confidently rejects fakes (l_f << 0), log(1 - D(G(z))) has a
    # vanishing gradient while -log D(G(z)) does not.
    logits = torch.tensor([-10.0], requires_grad=True)
    (g_minimax,) = torch.autograd.grad(g_minimax_loss(logits), logits)
    (g_ns,) = torch.autograd.grad(g_nonsaturating_loss(logits), logits)
    assert abs(g_minimax.item()) < 1e-4 and abs(g_ns.item()) > 0.99


def test_losses_are_stable_for_extreme_logits():
    big = torch.tensor([1e4, -1e4])
    for value in (d_bce_loss(big, -big), g_nonsaturating_loss(big), g_minimax_loss(big)):
        assert torch.isfinite(value)


def test_feature_matching():
    real = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    fake = torch.tensor([[0.0, 0.0], [2.0, 2.0]], dtype=torch.float64)
    # means: real (2, 3), fake (1, 1) -> ||(1, 2)||^2 = 5
    assert feature_matching_loss(real, fake).item() == pytest.approx(5.0)
