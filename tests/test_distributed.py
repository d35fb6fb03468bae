"""The shared loop under 2-process CPU DDP (gloo): the CPU twin of multi-GPU NCCL training."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
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


# ------------------------------------------------------------------ every registered model under DDP

class DDPReport(__import__("lightning").Callback):
    """Saves, per rank, the z the model draws at train start (after the base's per-rank offset) and the
    flattened G and D parameters at train end."""

    def __init__(self, path: str) -> None:
        self.path = path

    def on_train_start(self, trainer, pl_module) -> None:
        self.z = pl_module.sample_latent(4).cpu()

    def on_train_end(self, trainer, pl_module) -> None:
        flat = lambda m: torch.cat([p.detach().flatten().cpu() for p in m.parameters()])  # noqa: E731
        lrs = [group["lr"] for optimizer in trainer.optimizers for group in optimizer.param_groups]
        torch.save({"z": self.z, "g": flat(pl_module.generator), "d": flat(pl_module.discriminator),
                    "g_updates": pl_module.num_g_updates, "lrs": lrs, "k": getattr(pl_module, "k", None)},
                   f"{self.path}.rank{trainer.global_rank}.pt")


def _ddp_worker(rank: int, world_size: int, port: int, out_dir: str, cases: list[tuple[str, str, dict]]) -> None:
    """One process of a 2-process gloo group that trains every (label, model, overrides) case in turn. The environment says
    the processes exist already (LOCAL_RANK set), so Lightning joins them instead of launching its own;
    the process group is made once and reused by every Trainer (one start-up for all models)."""
    import os

    import lightning as L

    from gan_zoo import create_model
    from gan_zoo.registry import get_model_spec

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world_size),
                      RANK=str(rank), LOCAL_RANK=str(rank), NODE_RANK="0")
    torch.set_num_threads(1)
    for label, name, overrides, max_steps in cases:
        L.seed_everything(0, verbose=False)  # every rank alike, as Lightning seeds them
        model = create_model(name, tiny=True, **overrides)
        shape = tuple(model.generator.image_shape)
        num_classes = model.generator.num_classes if get_model_spec(name).conditional else 10
        trainer = L.Trainer(
            accelerator="cpu", devices=world_size, strategy="ddp_find_unused_parameters_true", max_steps=max_steps,
            logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
            default_root_dir=out_dir, callbacks=[DDPReport(f"{out_dir}/{label}")],
        )
        trainer.fit(model, random_loader(shape, n=64, batch_size=4, num_classes=num_classes))


DDP_SWEEP_TIMEOUT_S = 300
# Beside every model's defaults: state a variant updates from what a step measured must stay alike on all
# ranks (BEGAN's k_t and its lr decay on plateau, here due at every stalled step: each rank once decided
# from its own shard's energies).
# 24 optimizer steps = 12 batches: the decays due in the first batches reach the rates LR_DECAY_READ_DELAY (8)
# D steps later.
EXTRA_CASES = [("began_lr_decay", "began", {"lambda_k": 0.05, "lr_decay_patience": 1}, 24)]


def test_every_registered_model_under_two_process_ddp(tmp_path):
    """For every model: the base's per-rank noise offset runs (z differs across ranks, whatever hooks the
    variant defines) and DDP keeps G and D identical on both ranks."""
    import socket

    import torch.multiprocessing as mp

    from gan_zoo import list_models

    cases = [(name, name, {}, 6) for name in list_models()] + EXTRA_CASES
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    context = mp.start_processes(_ddp_worker, args=(2, port, str(tmp_path), cases), nprocs=2, join=False)
    deadline = time.monotonic() + DDP_SWEEP_TIMEOUT_S  # a rank stuck in a collective must fail, not hang CI
    while not context.join(timeout=5):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            done = sorted(p.name.split(".rank")[0] for p in tmp_path.glob("*.rank0.pt"))
            pytest.fail(f"DDP sweep hung after {DDP_SWEEP_TIMEOUT_S} s; finished: {done} of {[c[0] for c in cases]}")
    for name, *_ in cases:
        r0, r1 = (torch.load(tmp_path / f"{name}.rank{r}.pt", weights_only=True) for r in (0, 1))
        assert r0["g_updates"] == r1["g_updates"] >= 1, name
        assert torch.equal(r0["g"], r1["g"]) and torch.equal(r0["d"], r1["d"]), f"{name}: ranks diverged"
        assert r0["lrs"] == r1["lrs"] and (r0["k"] is None or torch.equal(r0["k"], r1["k"])), f"{name}: ranks diverged"
        assert not torch.equal(r0["z"], r1["z"]), f"{name}: both ranks drew the same z"
    decayed = torch.load(tmp_path / "began_lr_decay.rank0.pt", weights_only=True)
    assert 0 < decayed["k"] < 1 and decayed["lrs"] != torch.load(tmp_path / "began.rank0.pt", weights_only=True)["lrs"]


# ------------------------------------------------------------------ the DataLoader path under DDP

class IndexedImages(__import__("gan_zoo.data.base", fromlist=["GANDataModule"]).GANDataModule):
    """``n`` constant images whose label is their index, on the DataLoader path (one persistent worker):
    the labels of each batch say which samples a rank drew."""

    def __init__(self, image_shape: tuple[int, ...], n: int, batch_size: int) -> None:
        super().__init__(batch_size=batch_size, num_workers=1, in_memory=False)
        self.image_shape, self.n = image_shape, n

    def build_train_set(self):
        from torch.utils.data import TensorDataset

        return TensorDataset(torch.zeros(self.n, *self.image_shape), torch.arange(self.n))


class DrawnIndices(__import__("lightning").Callback):
    """Records, per epoch, the sample indices of each batch this rank trains on; saved per rank at train end."""

    def __init__(self, path: str) -> None:
        self.path, self.drawn = path, {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.drawn.setdefault(trainer.current_epoch, []).extend(batch[1].tolist())

    def on_train_end(self, trainer, pl_module) -> None:
        torch.save(self.drawn, f"{self.path}.rank{trainer.global_rank}.pt")


DATA_SEED, DATA_N, DATA_BATCH = 5, 24, 3  # 12 samples, 4 batches per rank and epoch


def _ddp_data_worker(rank: int, world_size: int, port: int, out_dir: str) -> None:
    """Three epochs straight, then two epochs, a checkpoint, and a resumed third, each rank on its shard."""
    import os

    import lightning as L

    from gan_zoo import create_model

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world_size),
                      RANK=str(rank), LOCAL_RANK=str(rank), NODE_RANK="0")
    torch.set_num_threads(1)

    def fit(label: str, max_epochs: int, ckpt_path: str | None = None) -> L.Trainer:
        L.seed_everything(DATA_SEED, verbose=False)  # sets PL_GLOBAL_SEED, which the data path shuffles by
        model = create_model("dcgan", tiny=True)
        data = IndexedImages(tuple(model.generator.image_shape), DATA_N, DATA_BATCH)
        trainer = L.Trainer(
            accelerator="cpu", devices=world_size, strategy="ddp_find_unused_parameters_true", max_epochs=max_epochs,
            logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
            default_root_dir=out_dir, callbacks=[DrawnIndices(f"{out_dir}/{label}")],
        )
        trainer.fit(model, datamodule=data, ckpt_path=ckpt_path)
        return trainer

    fit("straight", 3)
    fit("first_two", 2).save_checkpoint(f"{out_dir}/two_epochs.ckpt")  # every rank calls it; rank 0 writes
    fit("resumed", 3, ckpt_path=f"{out_dir}/two_epochs.ckpt")


def test_file_loader_shards_reshuffles_and_resumes_under_two_process_ddp(tmp_path):
    """The DataLoader path (``EpochPermutation``, a persistent worker) under a real 2-process Lightning DDP fit:
    each epoch the ranks draw disjoint halves that cover the set, in torch's ``DistributedSampler`` order for
    (seed, epoch), a new order every epoch; a run resumed after epoch 2 draws the straight run's epoch 3."""
    import socket

    import torch.multiprocessing as mp
    from torch.utils.data import DistributedSampler

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    context = mp.start_processes(_ddp_data_worker, args=(2, port, str(tmp_path)), nprocs=2, join=False)
    deadline = time.monotonic() + DDP_SWEEP_TIMEOUT_S
    while not context.join(timeout=5):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail(f"DDP data-path fit hung after {DDP_SWEEP_TIMEOUT_S} s")
    drawn = {(label, r): torch.load(tmp_path / f"{label}.rank{r}.pt", weights_only=True)
             for label in ("straight", "first_two", "resumed") for r in (0, 1)}
    for epoch in range(3):
        for rank in (0, 1):
            expected = DistributedSampler(range(DATA_N), num_replicas=2, rank=rank, shuffle=True, seed=DATA_SEED)
            expected.set_epoch(epoch)
            assert drawn["straight", rank][epoch] == list(expected), (epoch, rank)
        assert sorted(drawn["straight", 0][epoch] + drawn["straight", 1][epoch]) == list(range(DATA_N)), epoch
    assert drawn["straight", 0][0] != drawn["straight", 0][1] != drawn["straight", 0][2]
    for rank in (0, 1):
        assert drawn["first_two", rank] == {e: drawn["straight", rank][e] for e in (0, 1)}
        assert drawn["resumed", rank] == {2: drawn["straight", rank][2]}, f"rank {rank} replayed another epoch's order"
