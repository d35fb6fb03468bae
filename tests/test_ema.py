"""The generator EMA inside a real fit, against the recurrence computed here from G's post-step weights.

    ema_1 = θ_1,   ema_t = d · ema_{t-1} + (1 − d) · θ_t          θ_t: G's weights right after G step t

A decay of 0.9 (not 0.999) makes the two classic mistakes visible after a few steps: using (1 − d) as the
decay, or updating the average before the G step (so it averages θ_{t-1} instead of θ_t).
"""

from __future__ import annotations

import lightning as L
import torch

from gan_zoo.models import DCGAN
from helpers import random_loader, tiny_trainer

TINY_NETS = {
    "generator": {"init_args": {"latent_dim": 8, "image_shape": [1, 28, 28], "base_channels": 4}},
    "discriminator": {"init_args": {"image_shape": [1, 28, 28], "base_channels": 4}},
}


class RecordGenerator(L.Callback):
    """G's float tensors (parameters and float buffers) after every training batch, i.e. after its G step."""

    def __init__(self) -> None:
        self.snapshots: list[dict[str, torch.Tensor]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        state = pl_module.generator.state_dict()
        self.snapshots.append({k: v.detach().double().clone() for k, v in state.items() if v.is_floating_point()})


def test_ema_follows_the_recurrence_on_post_step_weights(tmp_path):
    from gan_zoo.registry import instantiate_from_config, model_config

    torch.manual_seed(0)
    decay = 0.9
    model = instantiate_from_config(DCGAN, model_config("dcgan", **TINY_NETS, ema_decay=decay))
    recorder = RecordGenerator()
    tiny_trainer(tmp_path, max_epochs=1, callbacks=[recorder]).fit(model, random_loader((1, 28, 28), n=40))
    assert len(recorder.snapshots) == 5 and int(model.g_updates) == 5  # one G step per batch

    expected: dict[str, torch.Tensor] = {}
    for snap in recorder.snapshots:
        expected = dict(snap) if not expected else {k: decay * expected[k] + (1 - decay) * snap[k] for k in snap}

    ema_state = model.generator_ema.module.state_dict()
    last = recorder.snapshots[-1]
    for name, value in expected.items():
        got = ema_state[name].double()
        torch.testing.assert_close(got, value, rtol=1e-5, atol=1e-6, msg=f"EMA of {name}")
    # The check has teeth: the EMA is not simply the last weights.
    assert any(not torch.allclose(expected[k], last[k], atol=1e-4) for k in last)
