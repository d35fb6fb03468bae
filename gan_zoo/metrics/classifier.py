"""The offline domain extractor for the MNIST family: a small CNN classifier shipped with the package.

Inception features mean little on 28×28 grayscale digits, and the Inception weights cannot be fetched
offline, so domain FID / IS / class coverage use this classifier instead (as the GAN literature does for
MNIST, e.g. the "MNIST score" and LeNet-feature FIDs). Architecture (≈ 94k parameters):

    x (B, 1, 28, 28) in [-1, 1]
    conv 3×3, 1→32, ReLU, max-pool 2      -> (B, 32, 14, 14)
    conv 3×3, 32→64, ReLU, max-pool 2     -> (B, 64, 7, 7)
    max-pool 2                            -> (B, 64, 3, 3)  (floor: the outer row/column is dropped)
    flatten, FC 576→128, ReLU             -> (B, 128)  = features(x), the FID embedding
    dropout 0.25 (training only), FC 128→10 -> (B, 10) = logits, the IS / coverage classifier

Weights: ``gan_zoo/weights/domain_classifier_<name>.safetensors``, trained by
``scripts/train_domain_classifier.py`` on the train split only; ``domain_classifier_<name>.json`` records
their sha256, the test accuracy and the exact command. Loading verifies the hash, so a metric's protocol
can name the exact weights it used.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import Tensor, nn
from torch.nn import functional as F

from gan_zoo.errors import GanZooError
from gan_zoo.metrics.reference import DomainName, check_domain
from gan_zoo.provenance import sha256_file

__all__ = [
    "DomainClassifier",
    "WEIGHTS_DIR",
    "weights_path",
    "weights_info",
    "load_domain_classifier",
    "domain_logits",
    "cached_domain_classifier",
    "classify",
    "to_domain_input",
]

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
INPUT_SIZE = 28


class DomainClassifier(nn.Module):
    """Small CNN: ``features(x)`` (B, 128) penultimate activations, ``forward(x)`` (B, 10) logits."""

    num_features: int = 128

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 3 * 3, self.num_features)
        self.fc2 = nn.Linear(self.num_features, num_classes)
        self.dropout = nn.Dropout(0.25)

    def features(self, x: Tensor) -> Tensor:
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)  # (B, 32, 14, 14)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)  # (B, 64, 7, 7)
        h = F.max_pool2d(h, 2)  # (B, 64, 3, 3)
        return F.relu(self.fc1(h.flatten(1)))  # (B, 128)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.dropout(self.features(x)))  # (B, 10) logits


def weights_path(name: DomainName) -> Path:
    return WEIGHTS_DIR / f"domain_classifier_{check_domain(name)}.safetensors"


def weights_info(name: DomainName) -> dict:
    """The json record next to the weights: sha256, test accuracy, training command."""
    path = weights_path(name).with_suffix(".json")
    if not path.is_file():
        raise GanZooError(
            f"{path} is missing; reinstall gan-zoo or run `python scripts/train_domain_classifier.py "
            f"--dataset {name} --out gan_zoo/weights/`"
        )
    return json.loads(path.read_text())


def load_domain_classifier(name: DomainName) -> DomainClassifier:
    """The shipped classifier for ``"mnist"`` or ``"fashion_mnist"``, in eval mode, sha256-verified.

    The returned module carries ``weights_sha256`` and ``name`` attributes for protocols.
    """
    path = weights_path(name)
    info = weights_info(name)
    if not path.is_file():
        raise GanZooError(f"{path} is missing; reinstall gan-zoo or retrain with: {info.get('command')}")
    digest = sha256_file(path)
    if digest != info["sha256"]:
        raise GanZooError(
            f"{path} has sha256 {digest}, expected {info['sha256']} (from {path.with_suffix('.json').name}); "
            "the file is corrupt or was replaced: reinstall gan-zoo"
        )
    model = DomainClassifier()
    model.load_state_dict({k: v.float() for k, v in load_file(str(path)).items()})
    model.eval()
    model.requires_grad_(False)
    model.name = f"domain_classifier_{name}"
    model.weights_sha256 = digest
    return model


def to_domain_input(images: Tensor) -> Tensor:
    """Images (N, 1, H, W) in [-1, 1] -> float32 (N, 1, 28, 28); other sizes are resized bilinearly with
    antialiasing (the ``resize`` the protocol records). Points or colour images are rejected."""
    if images.dim() != 4 or images.shape[1] != 1:
        raise GanZooError(
            f"the MNIST-family metrics need grayscale images (N, 1, H, W), got shape {tuple(images.shape)}; "
            "train on MNIST/Fashion-MNIST or use the Inception metrics for colour images"
        )
    return resize_square(images.float(), INPUT_SIZE)


def resize_square(images: Tensor, size: int) -> Tensor:
    """Images (N, C, H, W) -> (N, C, size, size), bilinear with antialiasing (the data modules' ``Resize``);
    returned as they are when already that size. Real images take this path to the samples' size before a
    metric compares them, so both reach the extractor through the same resizes."""
    if images.shape[-2:] == (size, size):
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


@lru_cache(maxsize=4)
def cached_domain_classifier(name: DomainName) -> DomainClassifier:
    """``load_domain_classifier`` once per process (shared instance: do not train or move it in place)."""
    return load_domain_classifier(name)


@torch.no_grad()
def classify(images: Tensor, model: DomainName | nn.Module = "mnist", batch_size: int = 1000) -> Tensor:
    """Predicted class (N,) of images (N, 1, H, W) in [-1, 1] by the shipped classifier (``"mnist"``,
    ``"fashion_mnist"``) or a given model, in batches. E.g. the digit a conditional generator drew."""
    return domain_logits(images, model, batch_size).argmax(1)


@torch.no_grad()
def domain_logits(images: Tensor, model: DomainName | nn.Module = "mnist", batch_size: int = 1000) -> Tensor:
    """Class logits (N, K) on the host of images (N, 1, H, W) in [-1, 1], in batches (``classify``'s argument rules)."""
    if isinstance(model, str):
        model = cached_domain_classifier(model)
    device = next(model.parameters()).device
    out = [model(to_domain_input(chunk).to(device)).cpu() for chunk in images.split(batch_size)]
    return torch.cat(out) if out else torch.empty(0, getattr(model, "num_classes", 1))
