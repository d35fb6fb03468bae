"""Shared LightningDataModule plumbing: data root resolution, the two data paths, [-1, 1] image transforms."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset, TensorDataset
from torchvision import transforms as T

from gan_zoo.data.in_memory import DeviceTensorLoader
from gan_zoo.errors import GanZooError

__all__ = ["GANDataModule", "resolve_data_dir", "image_transform", "pil_steps", "default_num_workers", "IMAGE_FITS"]

DATA_ENV = "GAN_ZOO_DATA"


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    """``data_dir`` if given, else ``$GAN_ZOO_DATA``, else ``$XDG_CACHE_HOME/gan_zoo`` (``~/.cache/gan_zoo``)."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "gan_zoo"


IMAGE_FITS = ("resize", "pad")


def pil_steps(
    image_size: int, native_size: int | None = None, center_crop: int | None = None, image_fit: str = "resize"
) -> list:
    """The PIL-space part of ``image_transform`` (crop, resize or pad): shared by the in-memory decoder so
    both data paths give the same pixels. ``image_fit`` says how a native size other than ``image_size`` is
    met: ``"resize"`` (bilinear, antialiased) or ``"pad"`` (the image unchanged, centred on a black canvas:
    MNIST 28 -> 32 gains a 2-pixel border, value -1 after scaling, and keeps every pixel as it was)."""
    steps: list = []
    if center_crop is not None:
        steps.append(T.CenterCrop(center_crop))
    if native_size is None or image_size != native_size:
        if image_fit == "pad":
            # CenterCrop to a larger size pads with 0 (black) on both sides: the odd pixel, if any, goes right/bottom
            steps.append(T.CenterCrop(image_size))
        else:
            steps += [T.Resize(image_size, antialias=True), T.CenterCrop(image_size)]
    return steps


def image_transform(
    image_size: int, native_size: int | None = None, center_crop: int | None = None, image_fit: str = "resize"
) -> T.Compose:
    """PIL image -> float tensor (C, S, S) in [-1, 1]; resizes (or pads) only when ``image_size != native_size``."""
    steps = pil_steps(image_size, native_size, center_crop, image_fit)
    steps += [T.ToTensor(), T.Normalize(0.5, 0.5)]  # [0, 1] -> [-1, 1], the tanh range
    return T.Compose(steps)


def default_num_workers(devices_per_node: int = 1) -> int:
    """DataLoader workers when none are set: the CPUs this process may use, shared between the ranks of
    one node, less one for the training process itself, at most 8 (PIL decoding of 64×64 JPEGs needs a
    few workers to keep one GPU busy; more only add start-up time and memory)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cpus = os.cpu_count() or 1
    return max(0, min(8, cpus // max(1, devices_per_node) - 1))


def dataset_tensors(dataset: Dataset) -> tuple[Tensor, ...]:
    """The tensors of a ``TensorDataset`` (or of a ``Subset`` of one), restricted to the subset."""
    index = None
    if isinstance(dataset, Subset):
        dataset, index = dataset.dataset, torch.as_tensor(list(dataset.indices), dtype=torch.long)
    if not isinstance(dataset, TensorDataset):
        raise TypeError(f"expected a TensorDataset, got {type(dataset).__name__}")
    return tuple(t if index is None else t[index] for t in dataset.tensors)


class EpochPermutation(DistributedSampler):
    """Lightning's ``DistributedSampler`` order (``randperm`` seeded by ``seed + epoch``, a shard per rank),
    with the epoch read from ``epoch()`` (the trainer's) when an epoch's iteration starts. ``set_epoch``, which
    Lightning calls at each epoch's start, comes too late for persistent workers that a resumed run starts
    with their iterator already built: they would replay epoch 0's order. One replica in one process.
    Lightning leaves a ``DistributedSampler`` in place under DDP."""

    def __init__(self, dataset: Dataset, seed: int, epoch: Callable[[], int], num_replicas: int = 1, rank: int = 0) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=False)
        self.current_epoch = epoch

    def __iter__(self) -> Iterator[int]:
        self.set_epoch(self.current_epoch())
        return super().__iter__()


class GANDataModule(L.LightningDataModule):
    """Base for every gan_zoo data module.

    Subclasses implement ``build_train_set`` and set ``image_shape`` (C, H, W) — or (D,) for vector
    data — and ``num_classes`` (``None`` when the data carry no labels) in ``__init__``, so configs and
    CLI links can read sizes without touching files. A data set small enough to keep on the device also
    implements ``train_tensors`` and offers ``in_memory`` (default on). ``metric_domain`` names the shipped
    domain classifier that scores samples of these data (``"mnist"``, ``"fashion_mnist"``; ``None``: none
    fits, use the Inception metrics); ``MetricsCallback`` reads it.

    Two data paths:

    * in memory (``in_memory=True`` where offered): the training set is decoded once into a tensor
      that moves to the training device; batches are gathered and scaled there
      (``gan_zoo.data.in_memory.DeviceTensorLoader``; DistributedSampler's sharding, resumable mid-epoch).
      It falls back to the DataLoader (with a warning) when the tensor would take more than half of the
      GPU's free memory.
    * a ``DataLoader`` (folders of files, or ``in_memory=False``): shuffled, equal batches, worker
      processes (``num_workers``; default ``default_num_workers()``), persistent workers, pinned memory
      when training on CUDA, ``prefetch_factor`` batches per worker in flight.

    Args:
        batch_size: samples per batch (per device under DDP).
        num_workers: DataLoader worker processes; ``None``: ``default_num_workers()``. Unused in memory.
        limit_samples: keep only the first N training samples (smoke runs, tests).
        in_memory: keep the training set on the device (only data modules with ``train_tensors``).
        prefetch_factor: batches each worker prepares ahead (DataLoader path with workers).
    """

    image_shape: tuple[int, ...]
    num_classes: int | None = None
    metric_domain: str | None = None  # a gan_zoo.metrics.reference.DomainName

    def __init__(
        self,
        batch_size: int = 64,
        num_workers: int | None = None,
        limit_samples: int | None = None,
        in_memory: bool = False,
        prefetch_factor: int = 2,
    ) -> None:
        super().__init__()
        # checked here, so the CLI refuses them before any run folder exists
        if batch_size < 1:
            raise GanZooError(f"data batch_size must be >= 1, got {batch_size}")
        if limit_samples is not None and limit_samples < 1:
            raise GanZooError(f"data limit_samples must be >= 1 (or null: the whole set), got {limit_samples}")
        if num_workers is not None and num_workers < 0:
            raise GanZooError(f"data num_workers must be >= 0 (or null: chosen for the machine), got {num_workers}")
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.limit_samples = limit_samples
        self.in_memory = in_memory
        self.prefetch_factor = prefetch_factor
        self.train_set: Dataset | None = None
        self._tensors: tuple[Tensor, Tensor | None] | None = None  # train_tensors(), decoded once

    @property
    def image_size(self) -> int:
        return self.image_shape[-1]

    @property
    def channels(self) -> int:
        return self.image_shape[0]

    def build_train_set(self) -> Dataset:
        raise NotImplementedError

    def train_tensors(self) -> tuple[Tensor, Tensor | None]:
        """The whole (limited) training set as (data (N, ...), labels (N,) or None), on the CPU: uint8
        images in [0, 255] (scaled to [-1, 1] per batch on the device) or float data in their final range.
        Called after ``setup``; only data modules that offer ``in_memory`` implement it."""
        raise NotImplementedError(f"{type(self).__name__} has no in-memory path")

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            dataset = self.build_train_set()
            if self.limit_samples is not None:
                dataset = Subset(dataset, range(min(self.limit_samples, len(dataset))))
            self.train_set = dataset

    # ------------------------------------------------------------------ where training runs
    def _training_device(self) -> torch.device:
        trainer = self.trainer
        return trainer.strategy.root_device if trainer is not None else torch.device("cpu")

    @staticmethod
    def _shuffle_seed() -> int:
        """The seed of both paths' epoch orders: what Lightning's DistributedSampler uses (seed_everything's)."""
        return int(os.environ.get("PL_GLOBAL_SEED", 0))

    def _world(self) -> tuple[int, int]:
        """(world size, global rank) of the running Trainer; (1, 0) outside one."""
        trainer = self.trainer
        return (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)

    def train_dataloader(self) -> DeviceTensorLoader | DataLoader:
        assert self.train_set is not None, "call setup() first"
        if self.in_memory:
            loader = self.device_loader()
            if loader is not None:
                return loader
        return self.file_loader()

    def device_loader(self) -> DeviceTensorLoader | None:
        """The in-memory path, or ``None`` (with a warning) when the data would crowd the GPU."""
        if self._tensors is None:
            self._tensors = self.train_tensors()
        images, labels = self._tensors
        device = self._training_device()
        if device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(device)
            needed = images.nbytes + (labels.nbytes if labels is not None else 0)
            if needed > free // 2:
                rank_zero_warn(
                    f"{type(self).__name__}: the training set takes {needed / 2**30:.1f} GiB, more than half of the "
                    f"GPU's free {free / 2**30:.1f} GiB; using the DataLoader path (set in_memory: false to silence)"
                )
                return None
        world_size, rank = self._world()
        seed = self._shuffle_seed()
        return DeviceTensorLoader(
            images.to(device),
            None if labels is None else labels.to(device),
            self.batch_size,
            seed=seed,
            num_replicas=world_size,
            rank=rank,
        )

    def file_loader(self) -> DataLoader:
        """The DataLoader path: shuffled, equal batches.

        The order is ``EpochPermutation``'s: Lightning's ``DistributedSampler`` order (a permutation from the
        seed and the epoch, one shard per rank), in one process too, instead of ``shuffle=True``, whose order
        comes from the global RNG; and the workers draw their base seed from the loader's own generator,
        not the global RNG, which a resumed run's new workers would otherwise advance at an epoch where the
        straight run's persistent workers did not (every later z would differ). No zoo data module draws
        random augmentations; one added inside the workers would restart from the base seed after a resume.
        Checked under a real 2-process DDP fit with a persistent worker
        (``tests/test_distributed.py::test_file_loader_shards_reshuffles_and_resumes_under_two_process_ddp``).
        """
        assert self.train_set is not None, "call setup() first"
        workers = self.num_workers
        if workers is None:
            workers = default_num_workers(self.trainer.num_devices if self.trainer is not None else 1)
        world_size, rank = self._world()
        seed = self._shuffle_seed()
        epoch = lambda: self.trainer.current_epoch if self.trainer is not None else 0  # noqa: E731
        sampler = EpochPermutation(self.train_set, seed, epoch, num_replicas=world_size, rank=rank)
        return DataLoader(
            self.train_set,
            batch_size=self.batch_size,
            sampler=sampler,
            drop_last=len(self.train_set) >= self.batch_size,  # equal batches for batch norm
            num_workers=workers,
            persistent_workers=workers > 0,
            pin_memory=self._training_device().type == "cuda",
            prefetch_factor=self.prefetch_factor if workers > 0 else None,
            # the workers' base seed from a generator of the loader's own, not from the global RNG: starting
            # workers (at the first epoch, and again after a resume) leaves the training noise alone; one
            # stream per rank, so DDP ranks do not share their workers' augmentation draws
            generator=torch.Generator().manual_seed(seed + 1_000_003 * rank),
        )
