"""Vanilla GAN: the default generator loss is the non-saturating one of Goodfellow et al. 2014, Sec. 3."""

from __future__ import annotations

import pytest
import torch

from gan_zoo import create_model
from gan_zoo.cli import cli_main


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
    cli = cli_main(["--config", "configs/vanilla_gan/mnist.yaml", "--data.init_args.download", "false"], run=False)
    assert_g_loss_is_non_saturating(cli.model)
