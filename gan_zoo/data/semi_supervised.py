"""Semi-supervised MNIST / Fashion-MNIST (Salimans et al. 2016, Sec. 5): a few labels beside all images.

The training split is cut once, deterministically:
    * ``validation_size`` images held out for validation (never trained on, with or without labels);
    * from the rest, a **balanced labelled subset**: ``num_labelled / K`` images of each class, drawn with
      ``label_seed`` (the same seed always gives the same subset, whatever the batch size or machine);
    * every non-held-out image (the labelled ones included, as in the paper) is also an unlabelled image.

A training batch is ``(x_unlabelled (B, C, H, W), x_labelled (B_l, C, H, W), y_labelled (B_l,))``. The
unlabelled images are shuffled each epoch and define the epoch (len = pool // B). The labelled images come
from a stream of shuffled copies of the labelled subset, ``B_l`` at a time, as in the authors' code (with
B_l = num_labelled every batch holds each labelled image exactly once). Validation and test batches are
``(x, y)``; the test set is the dataset's official test split.

Images are decoded once into one tensor in [-1, 1] (no per-sample PIL transform: 60k MNIST images are 188 MB
as float32), and each batch is one indexing operation.
"""

from __future__ import annotations

from typing import Iterator, Literal

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler
from torchvision import datasets

from gan_zoo.data.base import GANDataModule, resolve_data_dir
from gan_zoo.data.torchvision_sets import _MNIST_FILES, _load
from gan_zoo.errors import GanZooError

__all__ = ["SemiSupervisedDataModule", "balanced_labelled_subset"]

_DATASETS = {"mnist": (datasets.MNIST, "MNIST/raw"), "fashion_mnist": (datasets.FashionMNIST, "FashionMNIST/raw")}


def balanced_labelled_subset(labels: Tensor, per_class: int, num_classes: int, seed: int) -> Tensor:
    """Indices (num_classes · per_class,) into ``labels``: ``per_class`` random images of each class, sorted.

    Deterministic in ``seed`` (its own generator, not the global RNG).
    """
    rng = torch.Generator().manual_seed(seed)
    chosen = []
    for k in range(num_classes):
        members = torch.nonzero(labels == k).flatten()
        if len(members) < per_class:
            raise GanZooError(f"class {k} has only {len(members)} images, fewer than the {per_class} labels asked for; lower num_labelled")
        chosen.append(members[torch.randperm(len(members), generator=rng)[:per_class]])
    return torch.cat(chosen).sort().values


class _SemiSupervisedTrainSet(Dataset):
    """Indexed by a pair (unlabelled indices, labelled indices) -> the batch triple."""

    def __init__(self, images: Tensor, labelled: Tensor, labelled_targets: Tensor) -> None:
        self.images, self.labelled, self.labelled_targets = images, labelled, labelled_targets

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: tuple[list[int], list[int]]) -> tuple[Tensor, Tensor, Tensor]:
        unlabelled, labelled = index
        return self.images[unlabelled], self.labelled[labelled], self.labelled_targets[labelled]


class _SemiSupervisedBatches(Sampler):
    """Yields (B unlabelled indices, B_l labelled indices) per batch; shuffles with the global torch RNG."""

    def __init__(self, pool: int, labelled: int, batch_size: int, labelled_batch_size: int) -> None:
        self.pool, self.labelled, self.batch_size, self.labelled_batch_size = pool, labelled, batch_size, labelled_batch_size

    def __len__(self) -> int:
        return self.pool // self.batch_size

    def __iter__(self) -> Iterator[tuple[list[int], list[int]]]:
        order = torch.randperm(self.pool).tolist()
        stream: list[int] = []
        for b in range(len(self)):
            while len(stream) < self.labelled_batch_size:
                stream += torch.randperm(self.labelled).tolist()
            labelled, stream = stream[: self.labelled_batch_size], stream[self.labelled_batch_size :]
            yield order[b * self.batch_size : (b + 1) * self.batch_size], labelled


class SemiSupervisedDataModule(GANDataModule):
    """MNIST or Fashion-MNIST with ``num_labelled`` balanced labels; see the module docstring.

    Args:
        dataset: ``"mnist"`` or ``"fashion_mnist"``.
        data_dir: data root (default ``$GAN_ZOO_DATA``).
        num_labelled: size of the labelled subset; a multiple of the number of classes (10).
        label_seed: seed of the labelled subset (and of nothing else).
        validation_size: training images held out for validation (taken with a fixed seed, before labels are drawn).
        batch_size: unlabelled images per batch (the paper's 100).
        labelled_batch_size: labelled images per batch (the paper's 100).
        eval_batch_size: batch size of the validation and test loaders.
        limit_samples: keep only the first N unlabelled images (tests); the labelled subset is unchanged.
        download: try to download missing files.
    """

    num_classes = 10

    def __init__(
        self,
        dataset: Literal["mnist", "fashion_mnist"] = "mnist",
        data_dir: str | None = None,
        num_labelled: int = 100,
        label_seed: int = 0,
        validation_size: int = 5000,
        batch_size: int = 100,
        labelled_batch_size: int = 100,
        eval_batch_size: int = 1000,
        num_workers: int = 0,
        limit_samples: int | None = None,
        download: bool = True,
    ) -> None:
        super().__init__(batch_size, num_workers, limit_samples)
        if dataset not in _DATASETS:
            raise GanZooError(f"unknown dataset {dataset!r}; use one of {sorted(_DATASETS)}")
        if validation_size < 1:
            raise GanZooError(f"validation_size={validation_size}: hold out at least one image (the paper-size pool differs by <10% at 5000)")
        if num_labelled < self.num_classes or num_labelled % self.num_classes:
            raise GanZooError(f"num_labelled={num_labelled} must be a positive multiple of {self.num_classes} (balanced classes)")
        self.dataset, self.data_dir = dataset, resolve_data_dir(data_dir)
        self.num_labelled, self.label_seed, self.validation_size = num_labelled, label_seed, validation_size
        self.labelled_batch_size, self.eval_batch_size, self.download = labelled_batch_size, eval_batch_size, download
        self.image_shape = (1, 28, 28)
        self.labelled_indices: Tensor | None = None  # into the training pool, set by setup()

    def _read(self, train: bool) -> tuple[Tensor, Tensor]:
        cls, folder = _DATASETS[self.dataset]
        expected = _MNIST_FILES if train else ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
        data = _load(
            lambda download: cls(root=str(self.data_dir), train=train, download=download),
            self.data_dir, [f"{folder}/{f}" for f in expected], self.download, cls.__name__,
        )
        images = data.data.unsqueeze(1).float().div(127.5).sub(1.0)  # (N, 1, 28, 28) in [-1, 1]
        return images, data.targets.long()

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        images, targets = self._read(train=True)
        split = torch.randperm(len(images), generator=torch.Generator().manual_seed(12345))  # fixed, seed-independent
        held_out, pool = split[: self.validation_size].sort().values, split[self.validation_size :].sort().values
        self.val_images, self.val_targets = images[held_out], targets[held_out]
        pool_images, pool_targets = images[pool], targets[pool]
        self.labelled_indices = balanced_labelled_subset(  # drawn from the whole pool: independent of limit_samples
            pool_targets, self.num_labelled // self.num_classes, self.num_classes, self.label_seed
        )
        labelled, labelled_targets = pool_images[self.labelled_indices], pool_targets[self.labelled_indices]
        if self.limit_samples is not None:  # smoke runs: fewer unlabelled images, the same labelled subset
            pool_images = pool_images[: self.limit_samples]
        self.train_set = _SemiSupervisedTrainSet(pool_images, labelled, labelled_targets)
        self.test_images, self.test_targets = self._read(train=False)

    def train_dataloader(self) -> DataLoader:
        assert self.train_set is not None, "call setup() first"
        sampler = _SemiSupervisedBatches(len(self.train_set), self.num_labelled, self.batch_size, self.labelled_batch_size)
        # batch_size=None: the sampler's item already is a whole batch's indices
        return DataLoader(self.train_set, sampler=sampler, batch_size=None, num_workers=self.num_workers)

    def _eval_loader(self, images: Tensor, targets: Tensor) -> DataLoader:
        return DataLoader(torch.utils.data.TensorDataset(images, targets), batch_size=self.eval_batch_size, shuffle=False)

    def val_dataloader(self) -> DataLoader:
        assert self.train_set is not None, "call setup() first"
        return self._eval_loader(self.val_images, self.val_targets)

    def test_dataloader(self) -> DataLoader:
        assert self.train_set is not None, "call setup() first"
        return self._eval_loader(self.test_images, self.test_targets)
