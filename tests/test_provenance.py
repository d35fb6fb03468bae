"""The one digest helper and the version a pretrained folder records."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import yaml

from gan_zoo import create_model, save_pretrained
from gan_zoo.provenance import file_digest, gan_zoo_version, sha256_file

ROOT = Path(__file__).resolve().parents[1]


def test_digest_of_a_file_longer_than_one_block(tmp_path):
    data = bytes(range(256)) * 5000 + b"tail"  # 1.28 MB: crosses the 1 MiB read block
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
    assert file_digest(path, "sha1") == hashlib.sha1(data).hexdigest()


def test_pretrained_config_records_the_installed_version(tmp_path):
    declared = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert gan_zoo_version() == declared
    out = save_pretrained(create_model("vanilla_gan", tiny=True), tmp_path / "p")
    assert yaml.safe_load((out / "config.yaml").read_text())["gan_zoo_version"] == declared
