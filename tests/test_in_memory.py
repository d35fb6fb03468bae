"""The in-memory data path: same pixels as torchvision's, DistributedSampler's sharding, resumable order."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler

from gan_zoo.data import (
    CelebADataModule,
    CIFAR10DataModule,
    DeviceTensorLoader,
    DigitsDataModule,
    FashionMNISTDataModule,
    MNISTDataModule,
    ToyDataModule,
)
from gan_zoo.data.in_memory import scale_uint8_to_tanh_range


def loader_of(dm) -> DeviceTensorLoader:
    dm.setup("fit")
    loader = dm.train_dataloader()
    assert isinstance(loader, DeviceTensorLoader)
    return loader


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (MNISTDataModule, {}),
        (FashionMNISTDataModule, {}),
        (CIFAR10DataModule, {}),
        (CIFAR10DataModule, {"classes": ["horse"]}),
        (MNISTDataModule, {"image_size": 32, "limit_samples": 40}),  # PIL resize, decoded once
    ],
)
def test_pixels_equal_the_torchvision_path(cls, kwargs, data_dir):
    dm = cls(data_dir=str(data_dir), batch_size=16, download=False, **kwargs)
    loader = loader_of(dm)
    batches = iter(loader)
    for _ in range(2):
        x, y = next(batches)
        index = loader.sampler.indices()[(loader.batches_yielded - 1) * 16 : loader.batches_yielded * 16]
        # torchvision's own __getitem__: PIL image -> (resize) -> ToTensor -> Normalize(0.5, 0.5)
        items = [dm.train_set[int(i)] for i in index]
        expected_x = torch.stack([item[0] for item in items])
        expected_y = torch.tensor([item[1] for item in items])
        assert x.dtype == torch.float32 and x.shape == (16, *dm.image_shape)
        assert torch.equal(x, expected_x), "in-memory pixels differ from the DataLoader path's"
        assert torch.equal(y, expected_y)


def test_scaling_matches_torchvision_on_every_gray_level():
    from torchvision import transforms as T

    levels = torch.arange(256, dtype=torch.uint8).view(1, 16, 16)  # every uint8 value once
    expected = T.Normalize(0.5, 0.5)(T.ToTensor()(levels.squeeze(0).numpy()))  # the PIL-free ToTensor branch
    assert torch.equal(scale_uint8_to_tanh_range(levels), expected)
    assert expected.min() == -1 and expected.max() == 1


def test_digits_and_toys_keep_their_float_values():
    digits = DigitsDataModule(image_size=32, batch_size=8, limit_samples=20)
    loader = loader_of(digits)
    x, y = next(iter(loader))
    index = loader.sampler.indices()[:8]
    assert torch.equal(x, torch.stack([digits.train_set[int(i)][0] for i in index]))
    assert torch.equal(y, torch.stack([digits.train_set[int(i)][1] for i in index]))
    toys = ToyDataModule("gaussians8", num_samples=64, batch_size=16)
    loader = loader_of(toys)
    batch = next(iter(loader))
    assert len(batch) == 1 and batch[0].shape == (16, 2)  # [x] like a one-tensor TensorDataset
    assert torch.equal(batch[0], toys.train_set.tensors[0][loader.sampler.indices()[:16]])


def test_switch_back_to_the_dataloader_path(data_dir, image_folder):
    dm = MNISTDataModule(data_dir=str(data_dir), batch_size=8, download=False, in_memory=False, num_workers=0)
    dm.setup("fit")
    loader = dm.train_dataloader()
    assert isinstance(loader, DataLoader) and loader.num_workers == 0 and loader.drop_last
    folder = CelebADataModule(data_dir=str(image_folder), batch_size=4)  # files: DataLoader, workers by default
    folder.setup("fit")
    loader = folder.train_dataloader()
    assert isinstance(loader, DataLoader)
    assert folder.in_memory is False and loader.persistent_workers == (loader.num_workers > 0)


def order_of(loader: DeviceTensorLoader, epoch: int) -> list[list[int]]:
    """The sample indices of each batch, read back from data whose value is its own index."""
    loader.sampler.set_epoch(epoch)
    return [x.flatten().long().tolist() for (x,) in loader]


def reference_order(n: int, batch_size: int, world: int, rank: int, seed: int, epoch: int) -> list[list[int]]:
    """What Lightning's default distributed path does: DistributedSampler(shuffle=True, seed) + drop_last batches."""
    sampler = DistributedSampler(range(n), num_replicas=world, rank=rank, shuffle=True, seed=seed, drop_last=False)
    sampler.set_epoch(epoch)
    shard = list(sampler)
    drop_last = len(shard) >= batch_size
    loader = DataLoader(shard, batch_size=batch_size, drop_last=drop_last)
    return [batch.tolist() for batch in loader]


@pytest.mark.parametrize("n, batch_size, world", [(10, 2, 3), (12, 4, 2), (50, 8, 1), (7, 16, 2)])
def test_shards_follow_distributed_sampler(n, batch_size, world):
    data = torch.arange(n, dtype=torch.float32).view(n, 1)  # float data: passed through unscaled
    seed = 7
    for epoch in (0, 1, 2):
        seen = []
        for rank in range(world):
            loader = DeviceTensorLoader(data, None, batch_size, seed=seed, num_replicas=world, rank=rank)
            got = order_of(loader, epoch)
            assert got == reference_order(n, batch_size, world, rank, seed, epoch)
            assert len(got) == len(loader)
            seen += [i for batch in got for i in batch]
        if not (loader.drop_last and loader.sampler.num_samples % batch_size):  # no partial batch dropped
            assert set(seen) == set(range(n)), "the ranks' shards must cover the data set every epoch"
    one = DeviceTensorLoader(data, None, batch_size, seed=seed, num_replicas=world, rank=0)
    assert order_of(one, 0) != order_of(one, 1), "each epoch must reshuffle"


def test_resumes_mid_epoch_from_its_state_dict():
    n, batch_size = 40, 4
    data = torch.arange(n, dtype=torch.float32).view(n, 1)
    full = order_of(DeviceTensorLoader(data, None, batch_size, seed=3), epoch=2)
    first = DeviceTensorLoader(data, None, batch_size, seed=3)
    first.sampler.set_epoch(2)
    batches = iter(first)
    head = [next(batches)[0].flatten().long().tolist() for _ in range(4)]
    state = first.state_dict()
    assert state["epoch"] == 2 and state["batches_yielded"] == 4 and state["seed"] == 3
    resumed = DeviceTensorLoader(data, None, batch_size, seed=99)  # the seed comes from the state
    resumed.load_state_dict(state)
    resumed.sampler.set_epoch(2)  # Lightning calls this with the interrupted epoch
    tail = [x.flatten().long().tolist() for (x,) in resumed]
    assert head + tail == full
    assert order_of(resumed, 3) == order_of(DeviceTensorLoader(data, None, batch_size, seed=3), 3)

    # another batch size: "4 batches yielded" no longer marks the same images, so the epoch restarts, with a warning
    # (it once silently skipped 4 batches of the new size: 32 images where 16 had been seen)
    other = DeviceTensorLoader(data, None, 8, seed=99)
    with pytest.warns(UserWarning, match="in batches of 4, this run has 40 on 1 in batches of 8"):
        other.load_state_dict(state)
    other.sampler.set_epoch(2)
    assert sorted(v for (x,) in other for v in x.flatten().long().tolist()) == list(range(n))


def test_trainer_reshuffles_each_epoch_and_resumes_mid_epoch(tmp_path):
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint

    from gan_zoo.models import DCGAN
    from gan_zoo.registry import instantiate_from_config, model_config
    from helpers import tiny_trainer

    class Recorder(L.Callback):
        def __init__(self):
            self.batches: list[tuple[int, torch.Tensor]] = []

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            self.batches.append((trainer.current_epoch, batch[0].clone()))

    nets = {
        "generator": {"init_args": {"latent_dim": 4, "image_shape": [1, 32, 32], "base_channels": 2}},
        "discriminator": {"init_args": {"image_shape": [1, 32, 32], "base_channels": 2}},
    }

    def run(ckpt_path=None, callbacks=()):
        L.seed_everything(5)  # sets PL_GLOBAL_SEED, the loader's seed
        model = instantiate_from_config(DCGAN, model_config("dcgan", **nets))
        dm = DigitsDataModule(image_size=32, batch_size=4, limit_samples=16)  # 4 batches per epoch
        recorder = Recorder()
        trainer = tiny_trainer(tmp_path, max_epochs=2, callbacks=[recorder, *callbacks], enable_checkpointing=True)
        trainer.fit(model, datamodule=dm, ckpt_path=ckpt_path)
        return dm, recorder.batches

    # global_step counts D and G steps (2 per batch): step 10 is after batch 1 of epoch 1
    saver = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=10, save_top_k=-1)
    dm, batches = run(callbacks=[saver])
    reference = DeviceTensorLoader(*dm.train_tensors(), 4, seed=5)
    for epoch in (0, 1):
        reference.sampler.set_epoch(epoch)
        expected = [x for x, _ in reference]
        got = [x for e, x in batches if e == epoch]
        assert len(got) == len(expected) == 4
        assert all(torch.equal(a, b) for a, b in zip(got, expected))
    path = tmp_path / "ckpt" / "epoch=1-step=10.ckpt"
    state = torch.load(path, weights_only=True)["loops"]["fit_loop"]["state_dict"]["combined_loader"][0]
    assert state == {"seed": 5, "epoch": 1, "batches_yielded": 1, "num_replicas": 1, "size": 16, "batch_size": 4}
    _, resumed = run(ckpt_path=str(path))  # the rest of epoch 1, in the same order
    assert [e for e, _ in resumed] == [1, 1, 1]
    assert all(torch.equal(a, b) for (_, a), (_, b) in zip(resumed, batches[5:]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_batches_stay_on_the_device_without_syncs(data_dir):
    dm = MNISTDataModule(data_dir=str(data_dir), batch_size=64, download=False)
    dm.setup("fit")
    images, labels = dm.train_tensors()
    loader = DeviceTensorLoader(images.cuda(), labels.cuda(), 64)
    batches = iter(loader)
    next(batches)  # the per-epoch permutation copy happens here
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(5):
            x, y = next(batches)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert x.is_cuda and y.is_cuda and x.dtype == torch.float32
