"""Pretrained folders: safetensors + config.yaml, sha256-checked, only gan_zoo classes."""

from __future__ import annotations

import pytest
import torch
import yaml

from gan_zoo import create_model, load_pretrained, save_pretrained
from gan_zoo.errors import GanZooError
from gan_zoo.provenance import sha256_file


def test_round_trip_reproduces_samples(tmp_path):
    model = create_model("dcgan", tiny=True, ema_decay=0.9)
    out = save_pretrained(model, tmp_path / "p")
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["weights_sha256"] == sha256_file(out / "generator.safetensors")
    assert config["ema"] is True and config["model"] == "dcgan"
    loaded = load_pretrained(out)
    assert torch.equal(loaded.sample(4, seed=2), model.sample(4, seed=2))
    assert not list(out.glob(".*tmp*")) and sorted(p.name for p in out.iterdir()) == ["config.yaml", "generator.safetensors"]


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_exported_files_take_the_umask_mode_so_others_can_load_them(tmp_path, umask):
    import os
    import stat

    previous = os.umask(umask)
    try:
        out = save_pretrained(create_model("dcgan", tiny=True), tmp_path / "p")
    finally:
        os.umask(previous)
    for name in ("config.yaml", "generator.safetensors"):  # safetensors alone would write 0600
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o666 & ~umask, name


def test_tampered_weights_are_refused(tmp_path):
    out = save_pretrained(create_model("vanilla_gan", tiny=True), tmp_path / "p")
    data = bytearray((out / "generator.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (out / "generator.safetensors").write_bytes(bytes(data))
    with pytest.raises(GanZooError, match="sha256"):
        load_pretrained(out)


def test_config_may_only_name_gan_zoo_classes(tmp_path):
    out = save_pretrained(create_model("vanilla_gan", tiny=True), tmp_path / "p")
    config = yaml.safe_load((out / "config.yaml").read_text())
    config["generator"]["class_path"] = "os.system"
    (out / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(GanZooError, match="only name gan_zoo classes"):
        load_pretrained(out)


def test_checkpoint_naming_a_foreign_class_is_refused(tmp_path):
    from gan_zoo.hub import load_gan_checkpoint

    path = tmp_path / "foreign.ckpt"
    torch.save({"hyper_parameters": {"_class_path": "collections.OrderedDict"}, "state_dict": {}}, path)
    with pytest.raises(GanZooError, match="may only name gan_zoo classes"):
        load_gan_checkpoint(path)
    torch.save({"hyper_parameters": {"_class_path": "gan_zoo.nets.DCGANGenerator"}, "state_dict": {}}, path)
    with pytest.raises(GanZooError, match="not a gan_zoo GANModule subclass"):
        load_gan_checkpoint(path)
