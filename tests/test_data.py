"""Data modules: real datasets from $GAN_ZOO_DATA, offline errors, digits, toy data, image folders."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from gan_zoo.data import (
    CelebADataModule,
    CIFAR10DataModule,
    DigitsDataModule,
    FashionMNISTDataModule,
    MNISTDataModule,
    ToyDataModule,
    resolve_data_dir,
    sample_toy,
    toy_modes,
)
from gan_zoo.errors import DatasetNotFoundError, GanZooError


def first_batch(dm):
    dm.setup("fit")
    return next(iter(dm.train_dataloader()))


@pytest.mark.parametrize("cls, shape", [(MNISTDataModule, (1, 28, 28)), (FashionMNISTDataModule, (1, 28, 28)), (CIFAR10DataModule, (3, 32, 32))])
def test_real_datasets_scaled_to_tanh_range(cls, shape, data_dir):
    dm = cls(data_dir=str(data_dir), batch_size=16, download=False)
    assert dm.image_shape == shape and dm.num_classes == 10
    x, y = first_batch(dm)
    assert x.shape == (16, *shape) and y.shape == (16,)
    assert x.min() >= -1 and x.max() <= 1 and x.min() < -0.9 and x.max() > 0.9


def test_mnist_first_image_matches_raw_bytes(data_dir):
    # Independent read of the idx file: header 16 bytes, then 28*28 uint8 per image; label of #0 is 5.
    raw = (data_dir / "MNIST" / "raw" / "train-images-idx3-ubyte").read_bytes()[16 : 16 + 784]
    expected = torch.tensor(list(raw), dtype=torch.float32).view(1, 28, 28) / 255 * 2 - 1
    dm = MNISTDataModule(data_dir=str(data_dir), download=False)
    dm.setup()
    x, y = dm.train_set[0]
    assert y == 5 and torch.allclose(x, expected, atol=1e-6)


def test_resize_option(data_dir):
    dm = MNISTDataModule(data_dir=str(data_dir), image_size=32, batch_size=4, download=False, limit_samples=64)
    x, _ = first_batch(dm)
    assert x.shape == (4, 1, 32, 32) and dm.image_shape == (1, 32, 32)


def test_pad_option_centres_the_unchanged_digits_on_a_black_canvas(data_dir):
    # Independent: the idx bytes of the first images, scaled to [-1, 1], with two rows/columns of -1 on each side.
    raw = (data_dir / "MNIST" / "raw" / "train-images-idx3-ubyte").read_bytes()[16 : 16 + 8 * 784]
    digits = torch.tensor(list(raw), dtype=torch.float32).view(8, 1, 28, 28) / 255 * 2 - 1
    expected = torch.full((8, 1, 32, 32), -1.0)
    expected[:, :, 2:30, 2:30] = digits
    for in_memory in (True, False):  # the device tensors and the per-sample PIL path give the same pixels
        dm = MNISTDataModule(data_dir=str(data_dir), image_size=32, image_fit="pad", batch_size=8, download=False,
                             limit_samples=8, in_memory=in_memory)
        dm.setup("fit")
        if in_memory:
            images, _ = dm.train_tensors()
            got = images.float() / 255 * 2 - 1
        else:
            got = torch.stack([dm.train_set[i][0] for i in range(8)])
        assert dm.image_shape == (1, 32, 32)
        assert torch.allclose(got, expected, atol=1e-6), in_memory
    resized = MNISTDataModule(data_dir=str(data_dir), image_size=32, download=False, limit_samples=8)
    resized.setup("fit")
    assert not torch.equal(resized.train_tensors()[0].float() / 255 * 2 - 1, expected)  # the default still resizes
    with pytest.raises(GanZooError, match="image_size >= 28"):
        MNISTDataModule(data_dir=str(data_dir), image_size=16, image_fit="pad")
    with pytest.raises(GanZooError, match="image_fit 'crop'"):
        MNISTDataModule(data_dir=str(data_dir), image_size=32, image_fit="crop")


def test_missing_files_name_folder_and_files(tmp_path):
    dm = MNISTDataModule(data_dir=str(tmp_path), download=False)
    with pytest.raises(DatasetNotFoundError) as info:
        dm.setup()
    message = str(info.value)
    assert str(tmp_path) in message and "train-images-idx3-ubyte" in message and "prepare.py" in message
    assert "\n" not in message


def test_data_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("GAN_ZOO_DATA", str(tmp_path / "env"))
    assert resolve_data_dir("/explicit") == Path("/explicit")
    assert resolve_data_dir(None) == tmp_path / "env"
    monkeypatch.delenv("GAN_ZOO_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert resolve_data_dir(None) == tmp_path / "cache" / "gan_zoo"


def test_cifar_class_subset(data_dir):
    dm = CIFAR10DataModule(data_dir=str(data_dir), classes=["horse"], download=False)
    dm.setup()
    assert len(dm.train_set) == 5000
    assert set(dm.train_set.targets) == {7}  # label_names index of "horse"
    with pytest.raises(GanZooError, match="unknown CIFAR-10 class"):
        CIFAR10DataModule(data_dir=str(data_dir), classes=["unicorn"], download=False).setup()


def test_mnist_class_subset_by_index_and_name(data_dir):
    from gan_zoo.metrics.reference import load_split

    dm = MNISTDataModule(data_dir=str(data_dir), classes=[3, "7 - seven"], download=False)
    dm.setup()
    _, labels = load_split("mnist", "train", data_dir)  # the raw label file, read independently
    counts = torch.bincount(labels, minlength=10)
    assert len(dm.train_set) == int(counts[3] + counts[7])
    assert set(dm.train_set.targets.tolist()) == {3, 7} and dm.train_set[0][1] in (3, 7)
    with pytest.raises(GanZooError, match="unknown MNIST class 10"):
        MNISTDataModule(data_dir=str(data_dir), classes=[10], download=False).setup()


def test_digits_default_needs_no_files():
    dm = DigitsDataModule(image_size=32, batch_size=8)
    x, y = first_batch(dm)
    assert x.shape == (8, 1, 32, 32) and len(dm.train_set) == 1797
    assert x.min() >= -1 and x.max() <= 1 and y.max() <= 9


def test_toy_distributions():
    ring = toy_modes("gaussians8")
    assert ring.shape == (8, 2) and torch.allclose(ring.norm(dim=1), torch.full((8,), 2.0))
    grid = toy_modes("gaussians25")
    assert grid.shape == (25, 2) and set(grid[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    pts = sample_toy("gaussians8", 4000, seed=1)
    nearest = torch.cdist(pts, ring).min(dim=1).values
    assert (nearest < 3 * 0.02 * math.sqrt(2) * 2).float().mean() > 0.99
    assert torch.equal(pts, sample_toy("gaussians8", 4000, seed=1))
    roll = sample_toy("swissroll", 500)
    assert roll.shape == (500, 2) and roll.abs().max() < 3
    dm = ToyDataModule("gaussians25", num_samples=64, batch_size=16)
    (x,) = first_batch(dm)
    assert x.shape == (16, 2) and dm.image_shape == (2,)


def test_celeba_folder_crop_and_resize(image_folder):
    dm = CelebADataModule(data_dir=str(image_folder), image_size=64, batch_size=4)
    x, _ = first_batch(dm)
    assert x.shape == (4, 3, 64, 64) and len(dm.train_set) == 12


def test_empty_image_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="no images"):
        CelebADataModule(data_dir=str(tmp_path)).setup()


def test_digits_are_the_raw_gray_levels_mapped_to_minus_one_one():
    # Independent of the module: scikit-learn's 0..16 gray levels g map to g / 8 − 1, so the blank
    # background is exactly −1 and full ink exactly +1 (not [0, 1]).
    from sklearn.datasets import load_digits

    raw = torch.as_tensor(load_digits().images[:8], dtype=torch.float64)  # (8, 8, 8) gray levels 0..16
    dm = DigitsDataModule(image_size=8, batch_size=8)
    dm.setup("fit")
    x = torch.stack([dm.train_set[i][0] for i in range(8)])  # (8, 1, 8, 8), in file order
    torch.testing.assert_close(x[:, 0].double(), raw / 8.0 - 1.0)
    assert x.min().item() == -1.0 and x.max().item() == 1.0
    x32, _ = first_batch(DigitsDataModule(image_size=32, batch_size=8))  # the resized default
    assert x32.min().item() == -1.0 and (x32 < -0.99).float().mean() > 0.2  # background at −1 (0 if left in [0, 1])


def test_epoch_permutation_is_distributed_samplers_order_for_the_epoch_it_reads():
    """The DataLoader path's sampler: for every rank and epoch, the indices torch's DistributedSampler gives
    for the same seed after set_epoch(epoch), with the epoch read when iteration starts (not when set_epoch
    was last called): a resumed run's first iterator gets its epoch's order."""
    from torch.utils.data import DistributedSampler, TensorDataset

    from gan_zoo.data.base import EpochPermutation

    data = TensorDataset(torch.arange(23))  # uneven over 2 ranks: DistributedSampler pads
    epoch = [0]
    for world_size in (1, 2):
        for rank in range(world_size):
            sampler = EpochPermutation(data, seed=7, epoch=lambda: epoch[0], num_replicas=world_size, rank=rank)
            reference = DistributedSampler(data, num_replicas=world_size, rank=rank, shuffle=True, seed=7)
            for epoch[0] in (0, 1, 5):
                reference.set_epoch(epoch[0])
                assert list(sampler) == list(reference), (world_size, rank, epoch[0])
    orders = []
    for epoch[0] in (0, 1):
        orders.append(list(EpochPermutation(data, seed=7, epoch=lambda: epoch[0])))
    assert sorted(orders[0]) == list(range(23)) and orders[0] != orders[1]  # a permutation, reshuffled per epoch


# ------------------------------------------- mutation sweep 3: the DataLoader path's seed, shard and worker seed
def _file_loader_for(world_size: int, rank: int, epoch: int = 0):
    """The DataLoader path of a 40-sample toy module under a stand-in trainer of the given world."""
    from types import SimpleNamespace

    from gan_zoo.data.toy import ToyDataModule

    dm = ToyDataModule(num_samples=40, batch_size=8, in_memory=False, num_workers=0)
    dm.setup("fit")
    dm.trainer = SimpleNamespace(current_epoch=epoch, world_size=world_size, global_rank=rank, num_devices=world_size,
                                 strategy=SimpleNamespace(root_device=torch.device("cpu")))
    return dm.file_loader()


def test_both_data_paths_shuffle_with_seed_everythings_seed(monkeypatch):
    """PL_GLOBAL_SEED (what seed_everything sets) seeds both paths' epoch orders, as it seeds Lightning's own
    DistributedSampler: randperm from seed + epoch."""
    from gan_zoo.data.toy import ToyDataModule

    monkeypatch.setenv("PL_GLOBAL_SEED", "1234")
    expected = torch.randperm(40, generator=torch.Generator().manual_seed(1234 + 2)).tolist()
    assert list(_file_loader_for(1, 0, epoch=2).sampler) == expected
    dm = ToyDataModule(num_samples=40, batch_size=8, in_memory=True)
    dm.setup("fit")
    in_memory = dm.device_loader()
    in_memory.sampler.set_epoch(2)
    assert in_memory.sampler.indices().tolist() == expected


def test_file_loader_gives_each_rank_its_own_shard_and_worker_seed():
    """Under DDP (Lightning keeps a DistributedSampler the module set), rank r reads DistributedSampler's shard r,
    and its workers' base seeds come from a generator of its own (ranks do not share augmentation draws)."""
    from torch.utils.data import DistributedSampler

    loaders = [_file_loader_for(2, rank, epoch=1) for rank in (0, 1)]
    for rank, loader in enumerate(loaders):
        reference = DistributedSampler(loader.dataset, num_replicas=2, rank=rank, shuffle=True,
                                       seed=loader.sampler.seed)
        reference.set_epoch(1)
        assert list(loader.sampler) == list(reference), rank
    assert set(loaders[0].sampler).isdisjoint(loaders[1].sampler)
    first_draws = [torch.randint(2**62, (), generator=loader.generator).item() for loader in loaders]
    assert first_draws[0] != first_draws[1]
