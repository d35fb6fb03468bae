"""The shared loop under 2-process CPU DDP (gloo): the CPU twin of multi-GPU NCCL training."""

from __future__ import annotations

from pathlib import Path

import torch

from gan_zoo.models import DCGAN
from gan_zoo.registry import instantiate_from_config, model_config
from helpers import random_loader, tiny_trainer


class RankReport(DCGAN):
    """Writes each rank's flattened G and D parameters and counters to ``report_dir`` at the end."""

    report_dir: str = ""

    def on_train_end(self) -> None:
        flat = lambda m: torch.cat([p.detach().flatten() for p in m.parameters()])  # noqa: E731
        torch.save(
            {"g": flat(self.generator), "d": flat(self.discriminator), "d_updates": int(self.d_updates),
             "g_updates": int(self.g_updates), "z": self.sample_latent(4)},
            Path(self.report_dir) / f"rank{self.global_rank}.pt",
        )


def test_ddp_two_processes_keep_identical_weights(tmp_path):
    import lightning as L

    L.seed_everything(0)  # Lightning gives every rank this same seed
    nets = {
        "generator": {"init_args": {"latent_dim": 8, "image_shape": [1, 28, 28], "base_channels": 4}},
        "discriminator": {"init_args": {"image_shape": [1, 28, 28], "base_channels": 4}},
    }
    model = instantiate_from_config(RankReport, model_config("dcgan", **nets))
    model.report_dir = str(tmp_path)  # an instance attribute: spawned workers get a pickled copy
    start_g = torch.cat([p.detach().flatten() for p in model.generator.parameters()])
    trainer = tiny_trainer(
        tmp_path, max_epochs=1, devices=2, strategy="ddp_spawn_find_unused_parameters_true", use_distributed_sampler=True
    )
    trainer.fit(model, random_loader((1, 28, 28), n=64, batch_size=8))  # 4 batches per rank
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert r0["d_updates"] == r1["d_updates"] == 4 and r0["g_updates"] == r1["g_updates"] == 4
    assert torch.equal(r0["g"], r1["g"]) and torch.equal(r0["d"], r1["d"])  # gradients were all-reduced
    assert not torch.equal(r0["g"], start_g)
    assert not torch.equal(r0["z"], r1["z"]), "ranks must draw different noise, else DDP sees one fake batch twice"
