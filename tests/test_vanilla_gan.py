"""Vanilla GAN: the default generator loss is the non-saturating one of Goodfellow et al. 2014, Sec. 3."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gan_zoo import create_model
from gan_zoo.cli import cli_main

ROOT = Path(__file__).parents[1]


def assert_g_loss_is_non_saturating(model) -> None:
    # −E[log D(G(z))] = E[log(1 + e^{−l})] written out; the minimax E[log(1 − D(G(z)))] differs from it.
    model.eval()  # no dropout: the logits below are the ones the loss sees
    fake = torch.rand(6, *model.generator.image_shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        logits = model.discriminator(fake).double()
        out = model.g_loss(fake, fake, None)
    loss = out[0] if isinstance(out, tuple) else out
    non_saturating = torch.log1p(torch.exp(-logits)).mean()  # −log σ(l)
    minimax = torch.log1p(-torch.sigmoid(logits)).mean()  # log(1 − σ(l))
    assert non_saturating.item() != pytest.approx(minimax.item(), rel=1e-3)
    assert loss.item() == pytest.approx(non_saturating.item(), rel=1e-5)


def test_default_generator_loss_is_non_saturating():
    torch.manual_seed(0)
    model = create_model("vanilla_gan", tiny=True)
    assert model.hparams.g_loss_type == "nonsaturating"
    assert_g_loss_is_non_saturating(model)


def test_mnist_config_trains_with_the_non_saturating_loss():
    cli = cli_main(["--config", str(ROOT / "configs/vanilla_gan/mnist.yaml"), "--data.init_args.download", "false"], run=False)
    assert_g_loss_is_non_saturating(cli.model)


def test_maxout_unit_is_the_max_of_its_linear_pieces():
    # h_i = max_j (x·W_ij + b_ij), written out with a loop over units and pieces in float64.
    from gan_zoo.nets.mlp import Maxout

    torch.manual_seed(0)
    layer = Maxout(in_features=5, out_features=3, pieces=4).double()
    x = torch.randn(7, 5, dtype=torch.float64)
    w, b = layer.linear.weight, layer.linear.bias  # (3·4, 5), (3·4,): unit i owns rows 4i .. 4i + 3
    expected = torch.empty(7, 3, dtype=torch.float64)
    for i in range(3):
        pieces = [x @ w[4 * i + j] + b[4 * i + j] for j in range(4)]
        expected[:, i] = torch.stack(pieces, 1).max(1).values
    torch.testing.assert_close(layer(x), expected)


def test_maxout_discriminator_is_the_papers_mnist_net():
    from gan_zoo.nets import MaxoutDiscriminator
    from gan_zoo.nets.mlp import Maxout

    d = MaxoutDiscriminator()
    maxouts = [m for m in d.modules() if isinstance(m, Maxout)]
    assert [(m.linear.in_features, m.out_features, m.pieces) for m in maxouts] == [(784, 240, 5), (240, 240, 5)]
    drops = [m.p for m in d.modules() if isinstance(m, torch.nn.Dropout)]
    assert drops == [0.2, 0.5, 0.5]  # keep 80 % of the inputs, 50 % of each hidden layer's units
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    assert d(x).shape == (4,) and d.features(x).shape == (4, 240)
    d.train()
    assert not torch.equal(d(x), d(x)), "dropout is active in training"
    d.eval()
    assert torch.equal(d(x), d(x))
