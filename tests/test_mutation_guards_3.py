"""Guards from the third mutation sweep (2026-12-07) that no single existing test file obviously owns: each
test failed on its single-line mutant and passes on the code as it is."""
from __future__ import annotations

import torch

from gan_zoo import create_model


def test_strips_from_a_checkpoint_with_an_ema_draw_from_the_ema_generator():
    """``gan-zoo sample --ckpt`` strips and traversals use the EMA generator when the checkpoint keeps one (as
    ``sample`` and an export do), not the raw generator."""
    from gan_zoo.commands import checkpoint_generator

    model = create_model("dcgan", tiny=True, ema_decay=0.9).eval()
    with torch.no_grad():
        for p in model.generator_ema.module.parameters():
            p.add_(0.05 * torch.randn_like(p))  # the EMA now differs from the generator
    assert not torch.equal(model.sample(4, seed=0, use_ema=True), model.sample(4, seed=0, use_ema=False))
    drawn = checkpoint_generator(model, "m.ckpt").sample(4, seed=0)
    torch.testing.assert_close(drawn, model.sample(4, seed=0, use_ema=True), atol=1e-6, rtol=0)
