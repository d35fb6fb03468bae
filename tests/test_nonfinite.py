"""NonFiniteGuard: a NaN/inf loss stops training with one line naming the step, the network and the loss,
and no checkpoint is written after it (the last good one stays intact)."""

from __future__ import annotations

import pytest
import torch

from gan_zoo.callbacks import GANCheckpoint
from gan_zoo.callbacks.nonfinite import NonFiniteGuard, NonFiniteLossError
from gan_zoo.models import DCGAN
from gan_zoo.registry import instantiate_from_config, model_config
from helpers import random_loader, tiny_trainer

NETS = {
    "generator": {"init_args": {"latent_dim": 8, "image_shape": [1, 28, 28], "base_channels": 4}},
    "discriminator": {"init_args": {"image_shape": [1, 28, 28], "base_channels": 4}},
}
BAD_FROM_D_UPDATE = 5  # the 6th D update (batch index 5) gets an infinite loss


class ExplodingDCGAN(DCGAN):
    """DCGAN whose discriminator loss becomes +inf from the 6th D update on (a host counter: no sync)."""

    def d_loss(self, real, fake, labels):
        loss, stats = super().d_loss(real, fake, labels)
        if self.num_d_updates >= BAD_FROM_D_UPDATE:
            loss = loss * float("inf")
        return loss, stats


def build() -> ExplodingDCGAN:
    return instantiate_from_config(ExplodingDCGAN, model_config("dcgan", **NETS))


def test_nonfinite_loss_stops_before_any_checkpoint_holds_it(tmp_path):
    checkpoint = GANCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=2, save_last=True, save_top_k=-1)
    trainer = tiny_trainer(tmp_path, max_steps=40, callbacks=[NonFiniteGuard(check_every_n_steps=1000), checkpoint],
                           enable_checkpointing=True)
    with pytest.raises(NonFiniteLossError) as info:
        trainer.fit(build(), random_loader((1, 28, 28), n=96, num_classes=None))
    # Batch 6 ran the bad D update; Lightning counts both optimizers' steps, so that is global step 12.
    message = str(info.value)
    assert "discriminator loss d_loss became inf at global step 12" in message and len(message.splitlines()) == 1
    saved = sorted(torch.load(p, weights_only=True)["global_step"] for p in (tmp_path / "ckpt").glob("*.ckpt"))
    assert saved and max(saved) == 10, saved  # the save at step 12 was refused: no checkpoint holds the inf state
    last = torch.load(tmp_path / "ckpt" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 10
    assert all(torch.isfinite(v).all() for v in last["state_dict"].values() if v.is_floating_point())


def test_late_check_still_names_the_first_nonfinite_step(tmp_path):
    # No checkpoint and a check interval past the end: the record is read once, at the end of training.
    trainer = tiny_trainer(tmp_path, max_steps=20, callbacks=[NonFiniteGuard(check_every_n_steps=1000)])
    with pytest.raises(NonFiniteLossError, match="discriminator loss d_loss became (inf|nan) at global step 12"):
        trainer.fit(build(), random_loader((1, 28, 28), n=96, num_classes=None))


def test_finite_training_passes_the_guard(tmp_path):
    model = instantiate_from_config(DCGAN, model_config("dcgan", **NETS))
    trainer = tiny_trainer(tmp_path, max_steps=8, callbacks=[NonFiniteGuard(check_every_n_steps=1)])
    trainer.fit(model, random_loader((1, 28, 28), n=32, num_classes=None))
    assert model.num_g_updates == 4


def test_a_full_loss_buffer_is_checked_before_it_overflows(tmp_path, monkeypatch):
    # The guard keeps one row of losses per batch between checks; with room for 3 rows and a check interval
    # past the end, it must read the buffer each time it fills (after batches 3 and 6), so the inf from the
    # 6th D update stops training at that batch, not at the end.
    from gan_zoo.callbacks import nonfinite

    monkeypatch.setattr(nonfinite, "MAX_ROWS", 3)
    model = build()
    trainer = tiny_trainer(tmp_path, max_steps=40, callbacks=[NonFiniteGuard(check_every_n_steps=1000)])
    with pytest.raises(NonFiniteLossError, match="d_loss became inf at global step 12"):
        trainer.fit(model, random_loader((1, 28, 28), n=96, num_classes=None))
    assert model.num_d_updates == BAD_FROM_D_UPDATE + 1
