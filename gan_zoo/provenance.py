"""Where a file or a number came from: the digest of a weights file, the gan_zoo version that wrote it.

One home for these, so that a pretrained folder (``hub.py``), the shipped domain classifiers
(``metrics/classifier.py``) and the Inception weights (``metrics/extractors.py``) are hashed alike.
"""

from __future__ import annotations

import hashlib
import os
from importlib import metadata

__all__ = ["file_digest", "sha256_file", "gan_zoo_version"]

DISTRIBUTION = "gan-zoo"  # the name in pyproject.toml


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in 1 MiB blocks (weights files reach hundreds of MB)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    """sha256 of a file: what configs, weight records and metric protocols store."""
    return file_digest(path, "sha256")


def gan_zoo_version() -> str:
    """The installed distribution's version; ``"unknown"`` when the package runs from a source checkout on
    ``PYTHONPATH`` without being installed (so there is no metadata to read)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"
