"""``ChannelsLast`` (``gan-zoo fit --channels_last.enabled true``): the model's 4-D weights in NHWC layout, opt-in.

The layout changes strides only: the same seed trains to the same weights up to float reassociation, and
checkpoints and exported safetensors load into a contiguous model unchanged.
"""

from __future__ import annotations

import pytest
import torch

from gan_zoo import create_model
from gan_zoo.callbacks import ChannelsLast
from gan_zoo.cli import cli_main
from gan_zoo.hub import load_pretrained, save_pretrained
from helpers import DIGITS, params_of, random_loader, tiny_trainer


def _fit(tmp_path, callbacks, steps: int = 6, **overrides):
    torch.manual_seed(0)
    model = create_model("dcgan", tiny=True, **overrides)
    trainer = tiny_trainer(tmp_path, max_steps=steps, callbacks=callbacks)
    trainer.fit(model, random_loader(model.generator.image_shape, n=64, batch_size=16))
    return model, trainer


def _four_dim(module: torch.nn.Module) -> list[torch.Tensor]:
    return [t for t in [*module.parameters(), *module.buffers()] if t.dim() == 4]


def _channels_last(t: torch.Tensor) -> bool:
    # NHWC strides: channels vary fastest. (A tensor with C == 1 or H == W == 1 passes both layout checks, so
    # compare the strides themselves where the layouts differ.)
    return t.is_contiguous(memory_format=torch.channels_last) and (
        t.shape[1] == 1 or t.shape[2] * t.shape[3] == 1 or not t.is_contiguous()
    )


def test_channels_last_fit_converts_every_net_and_trains_like_contiguous(tmp_path):
    contiguous, _ = _fit(tmp_path / "nchw", [], ema_decay=0.9)
    nhwc, trainer = _fit(tmp_path / "nhwc", [ChannelsLast(enabled=True)], ema_decay=0.9)
    for net in (nhwc.generator, nhwc.discriminator, nhwc.generator_ema):
        weights = _four_dim(net)
        assert weights and all(_channels_last(t) for t in weights)
    assert not any(_channels_last(t) for t in _four_dim(contiguous.discriminator))
    for a, b in zip(params_of(nhwc), params_of(contiguous)):  # same seed: same arithmetic up to reassociation
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    assert (nhwc.num_d_updates, nhwc.num_g_updates) == (3, 3)
    # A checkpoint of the channels-last run loads into a fresh (contiguous) model with the same values.
    path = tmp_path / "nhwc.ckpt"
    trainer.save_checkpoint(path)
    fresh = create_model("dcgan", tiny=True, ema_decay=0.9)
    fresh.load_state_dict(torch.load(path, map_location="cpu", weights_only=True)["state_dict"])
    for a, b in zip(params_of(fresh), params_of(nhwc)):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    # And the exported generator (safetensors needs contiguous tensors) samples what the trained one does.
    save_pretrained(nhwc, tmp_path / "export", use_ema=False)
    loaded = load_pretrained(str(tmp_path / "export"))
    z = torch.randn(4, nhwc.generator.latent_dim)
    nhwc.generator.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(z), nhwc.generator(z), atol=1e-6, rtol=1e-5)


def test_disabled_leaves_the_layout_alone(tmp_path):
    model, _ = _fit(tmp_path, [ChannelsLast(enabled=False)], steps=2)
    assert not any(_channels_last(t) for t in _four_dim(model.discriminator))


@pytest.mark.parametrize("enabled", [False, True])
def test_the_channels_last_callback_is_on_the_trainer_only_when_enabled(tmp_path, enabled):
    cli = cli_main(["--config", DIGITS, f"--trainer.default_root_dir={tmp_path}", f"--channels_last.enabled={enabled}"], run=False)
    assert sum(isinstance(c, ChannelsLast) for c in cli.trainer.callbacks) == int(enabled)
