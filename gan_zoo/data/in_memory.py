"""Training sets that fit in memory, kept on the training device.

A data set is decoded once into a tensor (images as uint8 (N, C, H, W), or float data already in their
final range such as the 2-D toys), moved to the device the model trains on, and every batch is gathered
there by a permutation and scaled to [-1, 1] there. No worker processes, no per-sample Python, no
host-to-device copy per step: on a GPU the default MNIST DataLoader (PIL per sample, 0 workers) capped
DCGAN at about 40 steps/s (shared/STACK.md).

Which samples a rank sees is exactly what Lightning's default distributed sampling gives
(``torch.utils.data.DistributedSampler(shuffle=True, seed=seed, drop_last=False)`` followed by batches
with ``drop_last``): epoch e shuffles with ``torch.randperm(N, generator=manual_seed(seed + e))``, pads
the permutation to a multiple of the world size by repeating its head, and rank r takes every
world-size-th index starting at r. With one process it is the same with world size 1, so a run is
reproducible from the seed alone (the torch RNG that draws z is not touched by the data).

The loader is resumable mid-epoch: ``state_dict()`` holds (seed, epoch, batches yielded this epoch), and
Lightning stores it in the checkpoint (``loops.fit_loop.state_dict.combined_loader``) because the loader
has ``state_dict``/``load_state_dict``. Lightning calls ``sampler.set_epoch(e)`` before every epoch.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Iterator

import torch
from torch import Tensor

__all__ = ["EpochPermutation", "DeviceTensorLoader", "scale_uint8_to_tanh_range"]


def scale_uint8_to_tanh_range(images: Tensor) -> Tensor:
    """uint8 [0, 255] -> float32 [-1, 1] with torchvision's arithmetic (``ToTensor`` then
    ``Normalize(0.5, 0.5)``: x / 255, then (x − 0.5) / 0.5), so both data paths give identical bits."""
    return images.float().div_(255).sub_(0.5).div_(0.5)


class EpochPermutation:
    """The indices one rank reads in one epoch, with ``DistributedSampler``'s semantics (shuffle on,
    ``drop_last=False``). Lightning finds it as ``loader.sampler`` and calls ``set_epoch`` every epoch.

    Args:
        size: number of samples N.
        seed: the permutation of epoch e is ``randperm(N)`` from a generator seeded with ``seed + e``.
        num_replicas: world size; the permutation is padded to a multiple of it.
        rank: which shard this process reads.
    """

    def __init__(self, size: int, seed: int = 0, num_replicas: int = 1, rank: int = 0) -> None:
        if size < 1:
            raise ValueError(f"cannot sample from an empty data set (size={size})")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} is outside [0, {num_replicas})")
        self.size, self.seed, self.num_replicas, self.rank = size, seed, num_replicas, rank
        self.epoch = 0
        self.num_samples = math.ceil(size / num_replicas)  # per rank, after padding

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def indices(self) -> Tensor:
        """(num_samples,) int64 on the CPU: this rank's shard of this epoch's permutation."""
        order = torch.randperm(self.size, generator=torch.Generator().manual_seed(self.seed + self.epoch))
        total = self.num_samples * self.num_replicas
        if total > self.size:  # pad by repeating the head, as DistributedSampler does
            order = torch.cat([order] * math.ceil(total / self.size))[:total]
        return order[self.rank : total : self.num_replicas]


class DeviceTensorLoader:
    """Batches drawn from tensors that already live on the training device.

    Yields ``[x, y]`` (or ``[x]`` without labels), as a ``DataLoader`` over a ``TensorDataset`` does:
    x (B, ...) float32 — uint8 images are scaled to [-1, 1] on the device, float data pass unchanged —
    and y (B,) int64. Batch b of an epoch holds shard positions [b·B, (b+1)·B); the last partial batch
    is dropped when the shard holds at least one full batch (equal batches for batch norm).

    Args:
        images: (N, ...) uint8 images in [0, 255], or float data in their final range.
        labels: (N,) class indices, or ``None``.
        batch_size: samples per batch (per rank).
        seed, num_replicas, rank: see ``EpochPermutation``.
    """

    def __init__(
        self,
        images: Tensor,
        labels: Tensor | None,
        batch_size: int,
        seed: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        if labels is not None and len(labels) != len(images):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.images, self.labels, self.batch_size = images, labels, batch_size
        self.sampler = EpochPermutation(len(images), seed, num_replicas, rank)
        self.drop_last = self.sampler.num_samples >= batch_size
        self.batches_yielded = 0  # in the current epoch; the mid-epoch position a checkpoint keeps
        self._resume_epoch: int | None = None  # set by load_state_dict: continue that epoch at batches_yielded

    @property
    def device(self) -> torch.device:
        return self.images.device

    def __len__(self) -> int:
        n, b = self.sampler.num_samples, self.batch_size
        return n // b if self.drop_last else math.ceil(n / b)

    def __iter__(self) -> Iterator[list[Tensor]]:
        # A generator: nothing runs until the first batch is requested, which is after Lightning's
        # set_epoch (it calls iter() on the loader before set_epoch at the start of fit).
        start = 0
        if self._resume_epoch is not None and self._resume_epoch == self.sampler.epoch:
            start = self.batches_yielded
        self._resume_epoch = None
        order = self.sampler.indices().to(self.device, non_blocking=True)  # one small copy per epoch
        for b in range(start, len(self)):
            self.batches_yielded = b + 1
            yield self.batch(order[b * self.batch_size : (b + 1) * self.batch_size])

    def batch(self, index: Tensor) -> list[Tensor]:
        """The batch at ``index`` (B,) (device int64): gathered and scaled on the device, no host sync."""
        x = self.images.index_select(0, index)
        if x.dtype == torch.uint8:
            x = scale_uint8_to_tanh_range(x)
        return [x] if self.labels is None else [x, self.labels.index_select(0, index)]

    # ------------------------------------------------------------------ mid-epoch resumption
    def state_dict(self) -> dict[str, Any]:
        return {
            "seed": self.sampler.seed,
            "epoch": self.sampler.epoch,
            "batches_yielded": self.batches_yielded,
            "num_replicas": self.sampler.num_replicas,
            "size": self.sampler.size,
            "batch_size": self.batch_size,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sampler.seed = state["seed"]
        self.sampler.epoch = state["epoch"]
        saved_batch = state.get("batch_size", self.batch_size)  # checkpoints before it was saved: assume the same
        if state["size"] != self.sampler.size or state["num_replicas"] != self.sampler.num_replicas or saved_batch != self.batch_size:
            warnings.warn(
                f"the checkpoint's data order is for {state['size']} samples on {state['num_replicas']} rank(s) in "
                f"batches of {saved_batch}, this run has {self.sampler.size} on {self.sampler.num_replicas} in batches "
                f"of {self.batch_size}: epoch {state['epoch']} restarts from its first batch (resume with the same "
                "data, batch size and world size to continue it exactly)"
            )
            self.batches_yielded = 0
        else:
            self.batches_yielded = state["batches_yielded"]
        self._resume_epoch = state["epoch"]
