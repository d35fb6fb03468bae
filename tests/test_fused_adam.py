"""The zoo's default Adam is PyTorch's fused (one-kernel) implementation where the parameters support it.

It must be the same update rule as Kingma & Ba (2015), Algorithm 1 — checked against that algorithm written out
in float64 — and a checkpoint from it must resume with PyTorch's default implementation (and back).
"""

from __future__ import annotations

import copy

import pytest
import torch

from gan_zoo import create_model
from gan_zoo.models.base import adam, fused_adam
from helpers import random_loader, tiny_trainer


def _adam_reference(param: torch.Tensor, grads: list[torch.Tensor], lr: float, betas, eps: float) -> torch.Tensor:
    """Kingma & Ba, Alg. 1, in float64: m, v moving averages, bias-corrected, θ ← θ − lr m̂ / (√v̂ + ε)."""
    theta = param.detach().double().clone()
    m = torch.zeros_like(theta)
    v = torch.zeros_like(theta)
    beta1, beta2 = betas
    for t, g in enumerate(grads, start=1):
        g = g.double()
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        theta = theta - lr * m_hat / (v_hat.sqrt() + eps)
    return theta


def test_fused_adam_follows_kingma_and_ba_algorithm_1():
    torch.manual_seed(0)
    param = torch.nn.Parameter(torch.randn(7, 5))
    grads = [torch.randn(7, 5) for _ in range(6)]
    start = param.detach().clone()
    optimizer = adam(1e-2, (0.5, 0.99), eps=1e-6)([param])
    assert optimizer.defaults["fused"] is True
    for g in grads:
        param.grad = g.clone()
        optimizer.step()
    expected = _adam_reference(start, grads, 1e-2, (0.5, 0.99), 1e-6)
    torch.testing.assert_close(param.detach().double(), expected, rtol=0, atol=1e-6)


def test_parameters_without_the_fused_kernel_get_the_default_adam():
    # integer tensors have no fused kernel; PyTorch would only say so at the first step, mid-run
    int_param = torch.zeros(3, dtype=torch.int64)
    int_param.grad = torch.zeros(3, dtype=torch.int64)
    optimizer = fused_adam([torch.zeros(2, requires_grad=True), int_param], lr=1e-3)
    assert not optimizer.defaults["fused"]
    assert isinstance(optimizer, torch.optim.Adam)
    groups = fused_adam([{"params": [torch.zeros(2, requires_grad=True)]}], lr=1e-3)
    assert groups.defaults["fused"] is True


@pytest.mark.parametrize("name", ["dcgan", "wgan_gp", "began"])
def test_models_default_to_fused_adam_with_their_papers_hyperparameters(name):
    model = create_model(name, tiny=True)
    g_opt, d_opt = model.configure_optimizers()
    for opt, factory in [(g_opt, model.default_g_optimizer), (d_opt, model.default_d_optimizer)]:
        assert isinstance(opt, torch.optim.Adam) and opt.defaults["fused"] is True
        for key in ("lr", "betas", "eps"):
            assert opt.defaults[key] == factory.keywords.get(key, opt.defaults[key])
    assert model.default_g_optimizer.keywords["lr"] == {"dcgan": 2e-4, "wgan_gp": 1e-4, "began": 1e-4}[name]


def test_a_fused_checkpoint_resumes_in_the_default_implementation_and_back(tmp_path):
    torch.manual_seed(0)
    model = create_model("dcgan", tiny=True)
    trainer = tiny_trainer(tmp_path, max_steps=4)
    trainer.fit(model, random_loader(model.generator.image_shape, n=32, batch_size=8))
    fused_state = model.optimizers()[0].optimizer.state_dict()

    plain = torch.optim.Adam(model.generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    plain.load_state_dict(copy.deepcopy(fused_state))
    # load_state_dict takes the saved param-group options, "fused" included: a resumed run keeps the
    # implementation it was written with; force the default one here to compare the two
    assert plain.param_groups[0]["fused"] is True
    plain.param_groups[0]["fused"] = False
    refused = fused_adam(model.generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    refused.load_state_dict(copy.deepcopy(plain.state_dict()))
    for a, b in zip(fused_state["state"].values(), refused.state_dict()["state"].values()):
        assert a.keys() == b.keys()
        for key in a:
            torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    # both implementations then take the same next step (up to rounding)
    for p in model.generator.parameters():
        p.grad = torch.ones_like(p)
    before = [p.detach().clone() for p in model.generator.parameters()]
    plain.step()
    after_plain = [p.detach().clone() for p in model.generator.parameters()]
    for p, b in zip(model.generator.parameters(), before):
        p.data.copy_(b)
    refused.step()
    for p, a in zip(model.generator.parameters(), after_plain):
        torch.testing.assert_close(p.detach(), a, rtol=1e-5, atol=1e-7)
