"""MNIST, Fashion-MNIST and CIFAR-10 through torchvision, with offline-friendly errors.

All three fit in memory (47 MB, 47 MB and 150 MB as uint8), so by default they train from the device
(``in_memory: true``, see ``GANDataModule``); ``in_memory: false`` goes back to torchvision's per-sample
PIL pipeline in a DataLoader."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, Subset
from torchvision import datasets
from torchvision import transforms as T

from gan_zoo.data.base import IMAGE_FITS, GANDataModule, image_transform, pil_steps, resolve_data_dir
from gan_zoo.errors import DatasetNotFoundError, GanZooError

__all__ = ["MNISTDataModule", "FashionMNISTDataModule", "CIFAR10DataModule", "CIFAR10NoChecksum"]

PREPARE_HINT = (
    "put the files there (offline: `python shared/datasets/prepare.py --out DIR`, then pass "
    "--data.data_dir DIR or set GAN_ZOO_DATA=DIR), or run once with network access"
)


class CIFAR10NoChecksum(datasets.CIFAR10):
    """CIFAR-10 whose batch files are checked for presence, not against the original MD5s.

    Rebuilt copies (e.g. shared/datasets' JPEG-derived batches) cannot match the original hashes.
    """

    def _check_integrity(self) -> bool:
        root = Path(self.root) / self.base_folder
        return all((root / name).is_file() for name, _ in self.train_list + self.test_list)


def _load(factory, root: Path, expected: Sequence[str], download: bool, name: str):
    try:
        return factory(download=False)
    except RuntimeError:
        pass
    if download:
        try:
            return factory(download=True)
        except Exception as err:  # URLError, HTTPError, socket errors: all mean "offline"
            reason = f"download failed ({type(err).__name__})"
    else:
        reason = "download=False"
    raise DatasetNotFoundError(
        f"{name} not found under {root} (expected {', '.join(expected)}) and {reason}; {PREPARE_HINT}"
    )


class _TorchvisionImages(GANDataModule):
    """The train split of a torchvision image dataset, in [-1, 1].

    Args (beyond ``GANDataModule``'s):
        data_dir: data root (default: ``$GAN_ZOO_DATA``, see ``resolve_data_dir``).
        image_size: resize to this square size (default: the native size, no resize).
        image_fit: how ``image_size`` is reached from the native size: ``"resize"`` (bilinear, antialiased) or
            ``"pad"`` (centred on a black canvas, pixels unchanged; ``image_size`` must be at least the native
            size). Score a generator trained on padded images with ``gan-zoo evaluate --center-crop NATIVE``.
        download: try to download missing files (fails cleanly offline).
        classes: keep only these classes (names like ``"horse"`` or indices), e.g. to train on one class
            and show mode collapse. Labels keep their original indices.
    """

    title: str  # how errors name the dataset
    native_size: int
    native_channels: int
    folder: str
    expected_files: tuple[str, ...]
    dataset_cls: type

    def __init__(
        self,
        data_dir: str | None = None,
        image_size: int | None = None,
        batch_size: int = 64,
        num_workers: int | None = None,
        limit_samples: int | None = None,
        download: bool = True,
        classes: list[str | int] | None = None,
        in_memory: bool = True,
        image_fit: Literal["resize", "pad"] = "resize",
    ) -> None:
        super().__init__(batch_size, num_workers, limit_samples, in_memory=in_memory)
        size = image_size or self.native_size
        if image_fit not in IMAGE_FITS:
            raise GanZooError(f"image_fit {image_fit!r} is not one of {list(IMAGE_FITS)}; pick one")
        if image_fit == "pad" and size < self.native_size:
            raise GanZooError(f"image_fit pad cannot shrink {self.title}'s {self.native_size}x{self.native_size} images "
                              f"to {size}x{size}; give image_size >= {self.native_size} or image_fit resize")
        self.image_fit = image_fit
        self.data_dir = resolve_data_dir(data_dir)
        self.download = download
        self.classes = classes
        self.image_shape = (self.native_channels, size, size)

    def make_dataset(self, **kwargs) -> Dataset:
        transform = image_transform(self.image_size, self.native_size, image_fit=self.image_fit)
        return _load(
            lambda download: self.dataset_cls(root=str(self.data_dir), train=True, transform=transform, download=download, **kwargs),
            self.data_dir,
            [f"{self.folder}/{f}" for f in self.expected_files],
            self.download,
            self.dataset_cls.__name__,
        )

    def build_train_set(self) -> Dataset:
        dataset = self.make_dataset()
        if self.classes:
            names = list(dataset.classes)
            wanted = []
            for c in self.classes:
                if isinstance(c, int) and 0 <= c < len(names):
                    wanted.append(c)
                elif isinstance(c, str) and c in names:
                    wanted.append(names.index(c))
                else:
                    raise GanZooError(
                        f"unknown {self.title} class {c!r}; use one of {names} or an index 0-{len(names) - 1}"
                    )
            keep = np.isin(np.asarray(dataset.targets), wanted)  # (N,) bool
            dataset.data = dataset.data[keep]  # MNIST: a uint8 tensor, CIFAR-10: a numpy array
            targets = dataset.targets  # MNIST: a tensor, CIFAR-10: a list
            dataset.targets = targets[keep] if isinstance(targets, torch.Tensor) else [t for t, k in zip(targets, keep) if k]
        return dataset

    def train_tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(images (N, C, S, S) uint8, labels (N,)): the decoded arrays torchvision keeps in ``.data``
        (MNIST: a uint8 tensor (N, 28, 28); CIFAR-10: a uint8 array (N, 32, 32, 3)), resized with the
        same PIL steps as the DataLoader path when ``image_size`` differs from the native size (padded with
        ``image_fit="pad"``)."""
        dataset, index = self.train_set, None
        if isinstance(dataset, Subset):
            dataset, index = dataset.dataset, torch.as_tensor(list(dataset.indices), dtype=torch.long)
        images = torch.as_tensor(np.asarray(dataset.data))  # (N, H, W) or (N, H, W, C), uint8
        labels = torch.as_tensor(np.asarray(dataset.targets), dtype=torch.long)
        if index is not None:
            images, labels = images[index], labels[index]
        steps = pil_steps(self.image_size, self.native_size, image_fit=self.image_fit)
        if steps:  # resize (or pad) image by image through PIL, as the DataLoader path does
            resize = T.Compose(steps)
            # uint8 (H, W) -> mode "L", (H, W, 3) -> "RGB", as torchvision's __getitem__ builds them
            images = torch.stack([torch.from_numpy(np.array(resize(Image.fromarray(img.numpy())))) for img in images])
        images = images.unsqueeze(1) if images.dim() == 3 else images.permute(0, 3, 1, 2)  # (N, C, S, S)
        return images.contiguous(), labels


_MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")


class MNISTDataModule(_TorchvisionImages):
    """MNIST train split, 60k 28×28 digits in [-1, 1]; batches are (x (B, 1, S, S), y (B,))."""

    title, native_size, native_channels, num_classes = "MNIST", 28, 1, 10
    folder, expected_files, dataset_cls = "MNIST/raw", _MNIST_FILES, datasets.MNIST
    metric_domain = "mnist"


class FashionMNISTDataModule(_TorchvisionImages):
    """Fashion-MNIST train split, 60k 28×28 clothing images in [-1, 1], 10 classes."""

    title, native_size, native_channels, num_classes = "Fashion-MNIST", 28, 1, 10
    folder, expected_files, dataset_cls = "FashionMNIST/raw", _MNIST_FILES, datasets.FashionMNIST
    metric_domain = "fashion_mnist"


class CIFAR10DataModule(_TorchvisionImages):
    """CIFAR-10 train split, 50k 32×32 RGB images in [-1, 1] (``classes: [horse]``: one class, the seed's
    mode-collapse setting)."""

    title, native_size, native_channels, num_classes = "CIFAR-10", 32, 3, 10
    folder, dataset_cls = "cifar-10-batches-py", CIFAR10NoChecksum
    expected_files = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch", "batches.meta")

