"""Untrusted and malformed inputs to the pretrained / checkpoint loaders: each is one ``GanZooError`` line
that names the file and the fix, and nothing is left behind (no temporary file, no empty folder)."""

from __future__ import annotations

import shutil
import sys
import types
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from gan_zoo import create_model, load_pretrained, save_pretrained
from gan_zoo import zoo
from gan_zoo.cli import main
from gan_zoo.errors import GanZooError
from gan_zoo.hub import load_gan_checkpoint, read_checkpoint, sha256_file
from gan_zoo.registry import resolve_gan_zoo_class
from helpers import tiny_trainer


def every_file(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def edit_config(folder: Path, edit) -> None:
    config = yaml.safe_load((folder / "config.yaml").read_text())
    edit(config)
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def one_line(capfd) -> str:
    err = capfd.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


# ------------------------------------------------------------------------ 1. a direct URL, pinned by weights
def test_a_url_folder_pinned_by_its_weights_loads_and_caches_only_the_two_files(tmp_path):
    model = create_model("dcgan", tiny=True)
    remote = save_pretrained(model, tmp_path / "server" / "net")
    cache = tmp_path / "cache"
    pin = sha256_file(remote / "generator.safetensors")
    generator = load_pretrained(remote.as_uri(), weights_sha256=pin, cache_dir=cache)
    assert torch.equal(generator.sample(3, seed=4), model.sample(3, seed=4))
    assert [p.name for p in every_file(cache)] == ["config.yaml", "generator.safetensors"]
    shutil.rmtree(remote)  # gone upstream: the cached pair (config included) serves offline
    again = load_pretrained(remote.as_uri(), weights_sha256=pin, cache_dir=cache, local_files_only=True)
    assert torch.equal(again.sample(3, seed=4), model.sample(3, seed=4))


def test_a_url_without_a_pin_says_to_pass_weights_sha256(tmp_path):
    remote = save_pretrained(create_model("dcgan", tiny=True), tmp_path / "server" / "net")
    with pytest.raises(GanZooError, match="pass weights_sha256"):
        load_pretrained(remote.as_uri(), cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_sample_from_an_unpinned_url_is_one_line_and_leaves_nothing(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("GAN_ZOO_CACHE", str(tmp_path / "cache"))
    with pytest.raises(SystemExit) as exit_info:
        main(["sample", "--pretrained", "https://example.com/x", "--out", str(tmp_path / "e.png")])
    assert exit_info.value.code == 2
    assert "weights_sha256" in one_line(capfd)
    assert every_file(tmp_path) == []


def test_sample_and_evaluate_take_the_pin_on_the_command_line(tmp_path, monkeypatch, capfd):
    """`--weights-sha256` reaches load_pretrained: a pinned URL folder samples the grid its folder does, a wrong
    pin or a malformed one is refused in one line with nothing written, and a checkpoint takes no pin."""
    monkeypatch.setenv("GAN_ZOO_CACHE", str(tmp_path / "cache"))
    remote = save_pretrained(create_model("dcgan", tiny=True), tmp_path / "server" / "net")
    pin = sha256_file(remote / "generator.safetensors")
    main(["sample", "--pretrained", str(remote), "--num", "4", "--out", str(tmp_path / "folder.png")])
    main(["sample", "--pretrained", remote.as_uri(), "--weights-sha256", pin.upper(), "--num", "4",
          "--out", str(tmp_path / "url.png")])
    assert (tmp_path / "url.png").read_bytes() == (tmp_path / "folder.png").read_bytes()
    other_pin = sha256_file(save_pretrained(create_model("vanilla_gan", tiny=True), tmp_path / "other")
                            / "generator.safetensors")
    refusals = [
        (["sample", "--pretrained", str(remote), "--weights-sha256", other_pin, "--out", str(tmp_path / "a.png")],
         "pinned"),
        (["sample", "--pretrained", remote.as_uri(), "--weights-sha256", "abc123", "--out", str(tmp_path / "b.png")],
         "not a sha256 digest"),
        (["sample", "--ckpt", str(tmp_path / "run.ckpt"), "--weights-sha256", pin, "--out", str(tmp_path / "c.png")],
         "drop it with --ckpt"),
        (["evaluate", "--pretrained", str(remote), "--weights-sha256", other_pin, "--dataset", "mnist",
          "--out", str(tmp_path / "d.json")], "pinned"),
    ]
    for argv, expected in refusals:
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2 and expected in one_line(capfd), argv
    assert not any((tmp_path / name).exists() for name in ("a.png", "b.png", "c.png", "d.json"))


def test_a_url_config_for_other_weights_or_a_failed_download_leaves_no_temporary(tmp_path):
    remote = save_pretrained(create_model("dcgan", tiny=True), tmp_path / "server" / "net")
    other = save_pretrained(create_model("vanilla_gan", tiny=True), tmp_path / "other")
    cache = tmp_path / "cache"
    # the pin is another export's weights: the folder's config.yaml records different ones
    with pytest.raises(GanZooError, match="does not record the pinned weights sha256"):
        load_pretrained(remote.as_uri(), weights_sha256=sha256_file(other / "generator.safetensors"), cache_dir=cache)
    assert every_file(cache) == []
    with pytest.raises(GanZooError, match="cannot download"):
        load_pretrained((tmp_path / "server" / "absent").as_uri(), weights_sha256="0" * 64, cache_dir=cache)
    assert every_file(cache) == []
    # the right config, but weights that are not the pinned ones: refused, and neither file's temporary stays
    pin = sha256_file(remote / "generator.safetensors")
    shutil.copy(other / "generator.safetensors", remote / "generator.safetensors")
    with pytest.raises(GanZooError, match="sha256"):
        load_pretrained(remote.as_uri(), weights_sha256=pin, cache_dir=cache)
    assert [p.name for p in every_file(cache)] == ["config.yaml"]


# ------------------------------------------------------------------- 2. malformed or mismatched inputs
@pytest.fixture
def export(tmp_path) -> Path:
    return save_pretrained(create_model("dcgan", tiny=True), tmp_path / "p")


def test_a_config_that_is_not_yaml_is_named(export):
    (export / "config.yaml").write_text("generator: [unclosed\n  weights_sha256: {")
    with pytest.raises(GanZooError, match=r"config\.yaml is not valid YAML.*gan-zoo export"):
        load_pretrained(export)
    (export / "config.yaml").write_text("- a list\n- not a mapping\n")
    with pytest.raises(GanZooError, match="holds a list"):
        load_pretrained(export)


@pytest.mark.parametrize("edit, message", [
    (lambda c: c.pop("generator"), "has no generator"),
    (lambda c: c["generator"]["init_args"].update(base_channel=c["generator"]["init_args"].pop("base_channels")),
     "init_args do not fit gan_zoo.nets.DCGANGenerator.*base_channel"),
    (lambda c: c["generator"]["init_args"].update(latent_dim="eight"), "cannot be built from its init_args"),
    (lambda c: c["generator"]["init_args"].update(base_channels=16), "does not fit the generator.*has shape"),
    (lambda c: c["generator"].update(class_path="gan_zoo.nets.DCGANDiscriminator"), "not a generator net"),
    (lambda c: c["generator"].update(class_path="gan_zoo.models.dcgan.DCGAN"), "not a generator net"),
    (lambda c: c["generator"].update(class_path="gan_zoo.no_such_module.Net"), "names no gan_zoo module"),
    (lambda c: c.update(latent_prior="cauchy"), "latent_prior 'cauchy'"),
], ids=["no_generator", "misspelled_arg", "bad_value", "other_size", "discriminator", "whole_model", "no_module",
        "prior"])
def test_a_config_that_does_not_build_its_generator_is_one_error(export, edit, message):
    edit_config(export, edit)  # the weights' digest still matches: only the config is wrong
    with pytest.raises(GanZooError, match=message) as refused:
        load_pretrained(export)
    assert "config.yaml" in str(refused.value) and "\n" not in str(refused.value)


def test_weights_of_another_net_with_the_digest_updated_are_named(export, tmp_path):
    mlp = save_pretrained(create_model("vanilla_gan", tiny=True), tmp_path / "mlp")
    shutil.copy(mlp / "generator.safetensors", export / "generator.safetensors")
    edit_config(export, lambda c: c.update(weights_sha256=sha256_file(export / "generator.safetensors")))
    mlp_keys = set(create_model("vanilla_gan", tiny=True).generator.state_dict())
    expected_first = next(k for k in create_model("dcgan", tiny=True).generator.state_dict() if k not in mlp_keys)
    with pytest.raises(GanZooError, match=rf"does not fit the generator.*{expected_first} is missing.*more"):
        load_pretrained(export)


def test_a_shipped_folder_with_its_nets_size_edited_is_named(tmp_path):
    folder = shutil.copytree(zoo.PRETRAINED_DIR / "dcgan-mnist", tmp_path / "dcgan-mnist")
    edit_config(folder, lambda c: c["generator"]["init_args"].update(
        base_channels=2 * c["generator"]["init_args"]["base_channels"]))
    with pytest.raises(GanZooError, match="does not fit the generator"):
        load_pretrained(folder)


@pytest.fixture
def checkpoint(tmp_path) -> tuple[dict, Path]:
    """A tiny DCGAN's checkpoint as Lightning writes it, with the class path LightningCLI records."""
    model = create_model("dcgan", tiny=True)
    trainer = tiny_trainer(tmp_path, max_steps=0)
    trainer.strategy.connect(model)
    path = tmp_path / "dcgan.ckpt"
    trainer.save_checkpoint(path)
    data = torch.load(path, weights_only=True)
    data["hyper_parameters"]["_class_path"] = f"{type(model).__module__}.{type(model).__qualname__}"
    torch.save(data, path)
    assert isinstance(load_gan_checkpoint(path), type(model))  # the unedited file loads
    return data, path


def test_a_checkpoint_whose_hparams_disagree_with_its_weights_is_named(checkpoint):
    data, path = checkpoint
    data["hyper_parameters"]["generator"]["init_args"]["base_channels"] = 16
    torch.save(data, path)
    with pytest.raises(GanZooError, match=r"weights do not fit the model.*generator\.\S+.*more") as refused:
        load_gan_checkpoint(path)
    assert str(path) in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize("where", ["top", "generator"])
def test_a_checkpoint_with_an_unknown_hparam_is_named(checkpoint, where):
    data, path = checkpoint
    target = data["hyper_parameters"] if where == "top" else data["hyper_parameters"]["generator"]["init_args"]
    target["bogus_option"] = 1
    torch.save(data, path)
    with pytest.raises(GanZooError, match="hyper_parameters do not fit.*bogus_option") as refused:
        load_gan_checkpoint(path)
    assert "\n" not in str(refused.value)


def test_a_checkpoint_without_a_class_path_is_named(checkpoint):
    data, path = checkpoint
    del data["hyper_parameters"]["_class_path"]
    torch.save(data, path)
    with pytest.raises(GanZooError, match="records no _class_path"):
        load_gan_checkpoint(path)


# ------------------------------------------------------------------------------------ 3. the allow-list
@pytest.mark.parametrize("class_path", ["gan_zoo.metrics.scores.FrechetInceptionDistance",
                                        "gan_zoo.models.base.AveragedModel"])
def test_a_class_imported_into_gan_zoo_is_not_a_gan_zoo_class(class_path):
    import importlib

    module_name, _, name = class_path.rpartition(".")
    found = getattr(importlib.import_module(module_name), name, None)
    if found is None:
        pytest.skip(f"{module_name} no longer imports {name}")
    assert not found.__module__.startswith("gan_zoo."), "the premise: defined outside gan_zoo"
    with pytest.raises(GanZooError, match="imported into gan_zoo"):
        resolve_gan_zoo_class(class_path, nn.Module, "pretrained config")


def test_gan_zoo_classes_still_resolve():
    from gan_zoo.models.base import GANModule
    from gan_zoo.nets import DCGANGenerator

    assert resolve_gan_zoo_class("gan_zoo.nets.DCGANGenerator", nn.Module, "x") is DCGANGenerator
    model = create_model("wgan_gp", tiny=True)
    assert resolve_gan_zoo_class(f"{type(model).__module__}.{type(model).__name__}", GANModule, "x") is type(model)


# ----------------------------------------------------------------------- 4. huggingface_hub without .errors
def test_hub_source_works_where_huggingface_hub_has_no_errors_module(tmp_path, monkeypatch):
    hub = pytest.importorskip("huggingface_hub")
    from test_pretrained import hub_cache


    model = create_model("dcgan", tiny=True)
    folder = save_pretrained(model, tmp_path / "export")
    cache = tmp_path / "hf"
    hub_cache(cache, "someone/weights", "b" * 40, {"net/config.yaml": folder / "config.yaml",
                                                    "net/generator.safetensors": folder / "generator.safetensors"})
    # An old release (the issue reports 0.23.5): `from huggingface_hub.errors import LocalEntryNotFoundError`
    # fails, the class lives in huggingface_hub.utils. The download code (imported first, as the real
    # package's lazy loader would) keeps raising the real class.
    import huggingface_hub.utils
    from huggingface_hub.errors import LocalEntryNotFoundError as real

    hub.hf_hub_download  # noqa: B018
    monkeypatch.setitem(sys.modules, "huggingface_hub.errors", types.ModuleType("huggingface_hub.errors"))
    monkeypatch.setattr(hub.utils, "LocalEntryNotFoundError", real, raising=False)
    with pytest.raises(ImportError):
        from huggingface_hub.errors import LocalEntryNotFoundError  # noqa: F401
    generator = load_pretrained("hf://someone/weights/net", cache_dir=cache, local_files_only=True)
    assert torch.equal(generator.sample(2, seed=0), model.sample(2, seed=0))
    with pytest.raises(GanZooError, match="neither in the Hub cache nor reachable"):
        load_pretrained("hf://someone/weights/missing", cache_dir=cache, local_files_only=True)


# ------------------------------------------------------------------------------------------- 5. n < 1
@pytest.mark.parametrize("n", [0, -3])
def test_sampling_fewer_than_one_is_a_value_error(export, n):
    generator = load_pretrained(export)
    with pytest.raises(ValueError, match="at least 1"):
        generator.sample(n, seed=0)
    assert generator.sample(1, seed=0).shape[0] == 1
    model = create_model("dcgan", tiny=True)  # the module's sample, the protocol the pretrained one copies
    with pytest.raises(ValueError, match="at least 1"):
        model.sample(n, seed=0)


# ------------------------------------------------------------------------- 6. docs and robustness
def test_the_create_model_example_runs():
    import doctest

    import gan_zoo.registry

    result = doctest.testmod(gan_zoo.registry)
    assert result.attempted >= 3 and result.failed == 0


@pytest.mark.parametrize("variable", ["HF_HUB_OFFLINE", "GAN_ZOO_OFFLINE"])
def test_either_offline_variable_keeps_url_sources_offline(tmp_path, monkeypatch, variable):
    remote = save_pretrained(create_model("dcgan", tiny=True), tmp_path / "server" / "net")
    pin = sha256_file(remote / "generator.safetensors")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("GAN_ZOO_OFFLINE", raising=False)
    monkeypatch.setenv(variable, "1")
    with pytest.raises(GanZooError, match="downloads are off"):
        load_pretrained(remote.as_uri(), weights_sha256=pin, cache_dir=tmp_path / "cache")
    monkeypatch.setenv(variable, "0")
    assert load_pretrained(remote.as_uri(), weights_sha256=pin, cache_dir=tmp_path / "cache") is not None


@pytest.mark.parametrize("variable", ["HF_HUB_OFFLINE", "GAN_ZOO_OFFLINE"])
def test_either_offline_variable_keeps_hub_sources_offline(tmp_path, monkeypatch, variable):
    import huggingface_hub

    served = save_pretrained(create_model("dcgan", tiny=True), tmp_path / "served")
    seen = []

    def hf_hub_download(repo_id, filename, **kwargs):
        seen.append(kwargs.get("local_files_only"))
        return str(served / filename)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hf_hub_download)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("GAN_ZOO_OFFLINE", raising=False)
    monkeypatch.setenv(variable, "true")
    load_pretrained("hf://me/zoo/net")
    assert seen == [True, True]


def test_a_safetensors_file_for_weights_from_says_to_pass_its_folder(export):
    from gan_zoo.warm_start import load_initial_weights

    with pytest.raises(GanZooError, match=rf"pass its folder, {export}, to --weights_from"):
        load_initial_weights(create_model("dcgan", tiny=True), export / "generator.safetensors")
    with pytest.raises(GanZooError, match="loads with --pretrained"):  # elsewhere --pretrained is the way
        read_checkpoint(export / "generator.safetensors", "--ckpt_path")


def test_a_pickle_with_code_gets_one_fixed_line(tmp_path):
    class Payload:
        def __reduce__(self):
            return print, ("ran",)

    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": Payload()}, path)
    with pytest.raises(GanZooError) as refused:
        read_checkpoint(path, "--ckpt_path")
    text = str(refused.value)
    assert "holds objects other than tensors (it names" in text and "print" in text
    assert text.endswith("use a .ckpt written by `gan-zoo fit`") and "weights_only=True" in text
    assert "\n" not in text and "two options" not in text  # not torch's paragraph, cut or whole


def test_refused_exports_leave_no_folder(tmp_path):
    plain = create_model("dcgan", tiny=True)
    with pytest.raises(GanZooError, match="float32 or float16"):
        save_pretrained(plain, tmp_path / "a", dtype="bfloat16")
    with pytest.raises(GanZooError, match="keeps no EMA"):
        save_pretrained(plain, tmp_path / "b", use_ema=True)
    assert list(tmp_path.iterdir()) == []


def test_a_float16_export_refuses_weights_beyond_its_range(tmp_path):
    model = create_model("dcgan", tiny=True)
    name, weight = next((k, v) for k, v in model.generator.named_parameters() if v.dim() > 1)
    too_big = 2 * torch.finfo(torch.float16).max
    with torch.no_grad():
        weight.view(-1)[0] = too_big
    assert torch.isinf(torch.tensor(too_big).half())  # the premise: float16 would store it as inf
    with pytest.raises(GanZooError, match=rf"{name} holds values up to .*dtype float32"):
        save_pretrained(model, tmp_path / "half", dtype="float16")
    assert not (tmp_path / "half").exists()
    assert save_pretrained(model, tmp_path / "full").is_dir()  # float32 keeps it


@pytest.mark.parametrize("where", ["generator", "optimizer", "nested"])
def test_a_checkpoint_naming_a_foreign_class_anywhere_is_refused_before_it_is_imported(checkpoint, where, tmp_path,
                                                                                       monkeypatch):
    """Every class_path in a checkpoint's hyperparameters is rebuilt on load (jsonargparse imports its module
    and calls it): one outside gan_zoo and torch.optim is refused, and its module is never imported."""
    import sys

    marker = tmp_path / "IMPORTED"
    (tmp_path / "foreign_module.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nimport torch\nclass Net(torch.nn.Module):\n    latent_dim = 8\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    data, path = checkpoint
    foreign = {"class_path": "foreign_module.Net", "init_args": {}}
    hparams = data["hyper_parameters"]
    if where == "generator":
        hparams["generator"] = foreign
    elif where == "optimizer":
        hparams["g_optimizer"] = foreign
    else:  # inside a net's init args
        hparams["generator"]["init_args"]["block"] = foreign
    torch.save(data, path)
    with pytest.raises(GanZooError, match="refusing to build 'foreign_module.Net'.*only gan_zoo classes and torch.optim"):
        load_gan_checkpoint(path)
    assert not marker.exists() and "foreign_module" not in sys.modules
    # A torch class outside torch.optim is refused too (it would build whatever nn.Module the file names).
    hparams["generator"] = {"class_path": "torch.nn.Linear", "init_args": {"in_features": 1, "out_features": 1}}
    hparams.pop("g_optimizer", None)
    torch.save(data, path)
    with pytest.raises(GanZooError, match="refusing to build 'torch.nn.Linear'"):
        load_gan_checkpoint(path)


def test_a_checkpoint_with_a_torch_optimizer_still_loads(checkpoint):
    data, path = checkpoint
    data["hyper_parameters"]["g_optimizer"] = {"class_path": "torch.optim.Adam", "init_args": {"lr": 1e-3}}
    torch.save(data, path)
    assert load_gan_checkpoint(path).hparams["g_optimizer"]["class_path"] == "torch.optim.Adam"


# ----------------------------------------------------------------- mutation sweep 3: hub, zoo and registry edges
def test_a_failed_export_into_an_existing_empty_folder_keeps_the_folder(tmp_path, monkeypatch):
    """save_pretrained removes only a folder it created itself: the caller's own (empty) folder stays."""
    import gan_zoo.hub as hub

    def no_space(*args, **kwargs):
        raise OSError("no space left on device")

    monkeypatch.setattr(hub, "save_file", no_space)
    mine = tmp_path / "mine"
    mine.mkdir()
    with pytest.raises(OSError, match="no space"):
        save_pretrained(create_model("dcgan", tiny=True), mine)
    assert mine.is_dir() and list(mine.iterdir()) == []
    with pytest.raises(OSError, match="no space"):
        save_pretrained(create_model("dcgan", tiny=True), tmp_path / "new")
    assert not (tmp_path / "new").exists()  # the one it made is removed


def test_state_dict_mismatch_counts_the_problems_after_the_first():
    from gan_zoo.hub import state_dict_mismatch

    expected = {"a": torch.zeros(2), "b": torch.zeros(3)}
    assert state_dict_mismatch(dict(expected), expected, "the net", "the net") is None
    one = state_dict_mismatch({"a": torch.zeros(2)}, expected, "the net", "the net")
    assert one == "b is missing"
    two = state_dict_mismatch({"a": torch.zeros(5)}, expected, "the net", "the net")
    assert two == "b is missing (and 1 more)"
    three = state_dict_mismatch({"a": torch.zeros(5), "c": torch.zeros(1)}, expected, "the net", "the net")
    assert three.endswith("(and 2 more)")


@pytest.mark.parametrize("value", ["True", "YES", " On "])
def test_offline_variables_take_any_spelling_of_true(monkeypatch, value):
    """huggingface_hub reads HF_HUB_OFFLINE case-insensitively; so does gan_zoo, for both variables."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("GAN_ZOO_OFFLINE", value)
    assert zoo.offline_default()
    monkeypatch.setenv("GAN_ZOO_OFFLINE", "0")
    assert not zoo.offline_default()


def test_a_url_source_pinned_by_its_config_only_is_refused_by_name(tmp_path):
    """The cache folder and every check hang on the weights' digest: without it, one GanZooError, no fetch."""
    remote = save_pretrained(create_model("dcgan", tiny=True), tmp_path / "server" / "net")
    pins = {"config.yaml": sha256_file(remote / "config.yaml"), "generator.safetensors": None}
    with pytest.raises(GanZooError, match="needs the sha256 of its generator.safetensors"):
        zoo.fetch_source(remote.as_uri(), pins, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_nested_class_paths_are_checked_inside_lists_too():
    from gan_zoo.registry import check_nested_class_paths

    hparams = {"generator": {"class_path": "gan_zoo.nets.DCGANGenerator", "init_args": {}},
               "blocks": [{"class_path": "torch.optim.Adam"}, {"class_path": "subprocess.Popen"}]}
    with pytest.raises(GanZooError, match="refusing to build 'subprocess.Popen'"):
        check_nested_class_paths(hparams, "checkpoint x")
    check_nested_class_paths({"blocks": [{"class_path": "torch.optim.Adam"}]}, "checkpoint x")  # allowed


def test_nested_class_paths_refuse_a_class_imported_into_gan_zoo():
    """The name may start with gan_zoo. while the class is torchmetrics' (imported into gan_zoo.metrics.scores):
    where it is defined decides."""
    from gan_zoo.metrics.scores import FrechetInceptionDistance
    from gan_zoo.registry import check_nested_class_paths

    assert not FrechetInceptionDistance.__module__.startswith(("gan_zoo.", "torch.optim.")), "the premise"
    hparams = {"generator": {"class_path": "gan_zoo.nets.DCGANGenerator",
                             "init_args": {"block": {"class_path": "gan_zoo.metrics.scores.FrechetInceptionDistance"}}}}
    with pytest.raises(GanZooError, match="refusing to build 'gan_zoo.metrics.scores.FrechetInceptionDistance'"):
        check_nested_class_paths(hparams, "checkpoint x")


def test_a_pretrained_config_builds_only_a_net_from_gan_zoo_nets(monkeypatch):
    """A gan_zoo module outside gan_zoo.nets may one day hold an nn.Module that takes latent_dim: still no generator."""
    from gan_zoo.models import base
    from gan_zoo.registry import resolve_generator_class

    class Builder(nn.Module):
        def __init__(self, latent_dim: int = 8) -> None:
            super().__init__()
            self.latent_dim = latent_dim

    Builder.__module__ = "gan_zoo.models.base"
    monkeypatch.setattr(base, "Builder", Builder, raising=False)
    with pytest.raises(GanZooError, match="is not a generator net"):
        resolve_generator_class("gan_zoo.models.base.Builder", "pretrained config")
    from gan_zoo.nets import DCGANGenerator

    assert resolve_generator_class("gan_zoo.nets.DCGANGenerator", "pretrained config") is DCGANGenerator


def test_an_unpinned_url_on_the_command_line_names_the_flag_that_pins_it(tmp_path, monkeypatch, capfd):
    """The refusal comes from load_pretrained, before any fetch, and tells a CLI user the flag to pass."""
    monkeypatch.setenv("GAN_ZOO_CACHE", str(tmp_path / "cache"))
    remote = save_pretrained(create_model("dcgan", tiny=True), tmp_path / "server" / "net")
    with pytest.raises(SystemExit):
        main(["sample", "--pretrained", remote.as_uri(), "--out", str(tmp_path / "e.png")])
    assert "--weights-sha256" in one_line(capfd)
    assert not (tmp_path / "cache").exists() and not (tmp_path / "e.png").exists()
