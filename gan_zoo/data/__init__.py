"""LightningDataModules. Images are scaled to [-1, 1]; batches are (x, y) when the data have labels."""

from gan_zoo.data.base import GANDataModule, default_num_workers, resolve_data_dir
from gan_zoo.data.digits import DigitsDataModule
from gan_zoo.data.in_memory import DeviceTensorLoader
from gan_zoo.data.folder import CelebADataModule, ImageFolderDataModule
from gan_zoo.data.torchvision_sets import CIFAR10DataModule, FashionMNISTDataModule, MNISTDataModule
from gan_zoo.data.semi_supervised import SemiSupervisedDataModule, balanced_labelled_subset
from gan_zoo.data.toy import ToyDataModule, sample_toy, toy_modes

__all__ = [
    "GANDataModule",
    "DeviceTensorLoader",
    "default_num_workers",
    "resolve_data_dir",
    "DigitsDataModule",
    "CelebADataModule",
    "ImageFolderDataModule",
    "CIFAR10DataModule",
    "FashionMNISTDataModule",
    "MNISTDataModule",
    "SemiSupervisedDataModule",
    "balanced_labelled_subset",
    "ToyDataModule",
    "sample_toy",
    "toy_modes",
]
