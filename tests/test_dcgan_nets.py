"""DCGAN layout rules (Radford et al. 2015, Sec. 3) and init (Sec. 4), checked on the nets as they run.

* "batchnorm ... not applying batchnorm to the generator output layer and the discriminator input layer":
  the order in which leaf modules *execute* is recorded with forward hooks, so a norm layer slipped in
  anywhere between G's last convolution and its tanh, or between D's input and its first nonlinearity,
  is caught however the net is assembled.
* "All weights were initialized from a zero-centered Normal distribution with standard deviation 0.02":
  the full-size nets' conv weights are large enough samples to read the std to a few per cent.
"""

from __future__ import annotations

from typing import Callable

import pytest
import torch
from torch import nn

from gan_zoo.nets import DCGANDiscriminator, DCGANGenerator
from gan_zoo.nets.conditional import ConditionalDCGANDiscriminator, ConditionalDCGANGenerator
from gan_zoo.nets.critic import DCGANCritic
from gan_zoo.nets.infogan import InfoGANDiscriminator, InfoGANGenerator

NORMS = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm, nn.modules.instancenorm._InstanceNorm)
CONVS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.Tanh, nn.Sigmoid)


def execution_order(net: nn.Module, *inputs: torch.Tensor) -> list[nn.Module]:
    """Leaf modules in the order their forward ran (a module run twice appears twice)."""
    order: list[nn.Module] = []
    handles = [
        m.register_forward_hook(lambda mod, args, out: order.append(mod))
        for m in net.modules()
        if not list(m.children())
    ]
    try:
        with torch.no_grad():
            net.train()
            net(*inputs)
    finally:
        for h in handles:
            h.remove()
    return order


def labels(n: int = 4) -> torch.Tensor:
    return torch.arange(n) % 10


GENERATORS: dict[str, Callable[[], tuple[nn.Module, tuple]]] = {
    "dcgan28": lambda: (DCGANGenerator(8, (1, 28, 28), 4), (torch.randn(4, 8),)),
    "dcgan32": lambda: (DCGANGenerator(8, (3, 32, 32), 4), (torch.randn(4, 8),)),
    "dcgan64": lambda: (DCGANGenerator(8, (3, 64, 64), 4), (torch.randn(4, 8),)),
    "cgan": lambda: (ConditionalDCGANGenerator(8, 10, (1, 28, 28), 4), (torch.randn(4, 8), labels())),
    "infogan": lambda: (InfoGANGenerator(8, 10, 2, (1, 28, 28), 16, 4), (torch.randn(4, 20),)),
}
DISCRIMINATORS: dict[str, Callable[[], tuple[nn.Module, tuple]]] = {
    "dcgan28": lambda: (DCGANDiscriminator((1, 28, 28), 4), (torch.randn(4, 1, 28, 28),)),
    "dcgan64": lambda: (DCGANDiscriminator((3, 64, 64), 4), (torch.randn(4, 3, 64, 64),)),
    "cgan": lambda: (ConditionalDCGANDiscriminator((1, 28, 28), 10, 4), (torch.randn(4, 1, 28, 28), labels())),
    "infogan": lambda: (InfoGANDiscriminator((1, 28, 28), 10, 2, 16, 4, 8), (torch.randn(4, 1, 28, 28),)),
    "critic": lambda: (DCGANCritic((3, 32, 32), 4), (torch.randn(4, 3, 32, 32),)),
}


@pytest.mark.parametrize("name", list(GENERATORS))
def test_generator_output_layer_has_no_norm(name):
    net, inputs = GENERATORS[name]()
    order = execution_order(net, *inputs)
    last_conv = max(i for i, m in enumerate(order) if isinstance(m, CONVS))
    after = [type(m).__name__ for m in order[last_conv + 1 :] if not isinstance(m, nn.Identity)]
    assert after == ["Tanh"], f"G's output layer must be conv -> tanh, found conv -> {after}"
    assert any(isinstance(m, nn.BatchNorm2d) for m in order), "the hidden layers do use batch norm"


@pytest.mark.parametrize("name", list(DISCRIMINATORS))
def test_discriminator_input_layer_has_no_norm(name):
    net, inputs = DISCRIMINATORS[name]()
    order = execution_order(net, *inputs)
    first_act = next(i for i, m in enumerate(order) if isinstance(m, ACTIVATIONS))
    before = [type(m).__name__ for m in order[:first_act]]
    assert before == ["Conv2d"], f"D's input layer must be conv -> activation, found {before} before it"
    assert any(isinstance(m, NORMS) for m in order), "the hidden layers do use a norm"


def weight_stats(net: nn.Module) -> list[tuple[str, torch.Tensor]]:
    return [(n, p.detach().double()) for n, p in net.named_parameters()]


@pytest.mark.parametrize(
    "factory",
    [
        lambda: DCGANGenerator(100, (3, 64, 64), 64),
        lambda: DCGANDiscriminator((3, 64, 64), 64),
        lambda: InfoGANGenerator(),
        lambda: InfoGANDiscriminator(),
        lambda: DCGANCritic((3, 64, 64), 64),
    ],
    ids=["dcgan_g", "dcgan_d", "infogan_g", "infogan_d", "critic"],
)
def test_full_size_weights_follow_n_0_002(factory):
    torch.manual_seed(0)
    net = factory()
    checked = 0
    for module_name, m in net.named_modules():
        if isinstance(m, CONVS) and m.weight.numel() >= 2000:  # enough entries to read the std
            w = m.weight.detach().double()
            assert abs(w.mean().item()) < 0.003, f"{module_name}: mean {w.mean().item():.4f}"
            assert w.std().item() == pytest.approx(0.02, rel=0.1), f"{module_name}: std {w.std().item():.4f}"
            checked += 1
            if m.bias is not None:
                assert torch.count_nonzero(m.bias) == 0, f"{module_name}: biases start at 0"
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.weight.numel() >= 64:
            scale = m.weight.detach().double()
            assert scale.mean().item() == pytest.approx(1.0, abs=0.01), f"{module_name}: BN scale ~ N(1, 0.02)"
            assert scale.std().item() == pytest.approx(0.02, rel=0.4), f"{module_name}: BN scale std"
            assert torch.count_nonzero(m.bias) == 0
    assert checked >= 2


# Leak rates from the papers: Radford et al. 2015, Sec. 3: "within the discriminator we found the leaky
# rectified activation to work well ... leak slope 0.2" (the WGAN-GP critic keeps the DCGAN layout);
# Chen et al. 2016, Appendix C: InfoGAN's D uses "leaky rectified linear units (lRELU) with leaky rate 0.1".
LEAK = {"dcgan28": 0.2, "dcgan64": 0.2, "cgan": 0.2, "critic": 0.2, "infogan": 0.1}


@pytest.mark.parametrize("name", list(DISCRIMINATORS))
def test_discriminator_activations_are_leaky_relus_with_the_papers_slope(name):
    net, inputs = DISCRIMINATORS[name]()
    order = execution_order(net, *inputs)
    acts = [m for m in order if isinstance(m, ACTIVATIONS)]
    convs = [m for m in order if isinstance(m, CONVS)]
    assert len(acts) == len(convs) - 1  # one after every layer but the output: none skipped, none of another kind
    if name == "infogan":  # Q's head shares the body; its hidden layer has the same activation
        acts += [m for m in net.q_head.modules() if isinstance(m, ACTIVATIONS)]
    for m in acts:
        assert isinstance(m, nn.LeakyReLU), type(m).__name__
        # the slope as it acts: f(-1) = -slope (inplace LeakyReLU, so apply it to a fresh tensor)
        assert m.negative_slope == LEAK[name] and m(torch.tensor([-1.0])).item() == pytest.approx(-LEAK[name])
