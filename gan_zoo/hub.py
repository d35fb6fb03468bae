"""Pretrained generators: ``config.yaml`` + ``generator.safetensors``, never a pickle.

A pretrained folder holds:
* ``config.yaml``: the model's registry name / class path and its init args (nets as class_path/init_args
  dicts), the gan_zoo version, and the sha256 of the weights file;
* ``generator.safetensors``: the generator's state dict (the EMA generator's when the model keeps one).

``load_pretrained`` rebuilds only the generator (no discriminator, no optimizer), checks the sha256,
and loads the tensors with safetensors — no code from the folder is ever executed.
"""

from __future__ import annotations

import operator
import os
import re
import tempfile
import typing
from pathlib import Path

import torch
import yaml
from safetensors.torch import load_file, save_file
from torch import nn

from gan_zoo.errors import GanZooError
from gan_zoo.provenance import gan_zoo_version, sha256_file
from gan_zoo.sampling import LatentPrior

__all__ = [
    "save_pretrained",
    "load_pretrained",
    "load_pretrained_folder",
    "load_gan_checkpoint",
    "PretrainedGenerator",
    "sha256_file",
]

CONFIG_NAME = "config.yaml"
WEIGHTS_NAME = "generator.safetensors"


def _plain(value):
    """Tuples -> lists, recursively, so the YAML stays plain (safe_load-able)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def save_pretrained(
    model, directory: str | os.PathLike, use_ema: bool | None = None, dtype: str = "float32"
) -> Path:
    """Write ``config.yaml`` and ``generator.safetensors`` for ``model`` (a ``GANModule``) into ``directory``.

    ``dtype="float16"`` stores floating-point tensors at half size (loading casts them back to the net's
    float32 parameters; samples then differ from the model's by about 1e-3). Integer buffers keep theirs.

    Files are written to temporary names and renamed only when complete; an existing folder's files are
    replaced only by a complete new pair (``gan-zoo export`` replaces an export only with ``--overwrite``).
    """
    directory = Path(directory)
    # Everything that can refuse the model runs before the folder is created: a refusal leaves nothing behind.
    check_exportable = getattr(model, "check_exportable", None)  # ProGAN: only a fully grown generator
    if callable(check_exportable):
        check_exportable()
    if dtype not in ("float32", "float16"):
        raise GanZooError(f"dtype must be float32 or float16, got {dtype!r}")
    gen_config = _plain(dict(model.hparams["generator"])) if isinstance(model.hparams.get("generator"), dict) else None
    if gen_config is None:
        raise GanZooError(
            "this model's hparams hold a generator module, not its config; build models with "
            "gan_zoo.create_model(...) or the gan-zoo CLI so they can be saved as pretrained"
        )
    ema = getattr(model, "generator_ema", None)
    if use_ema is None:
        use_ema = ema is not None
    if use_ema and ema is None:
        raise GanZooError(
            "use_ema=True, but this model keeps no EMA of its generator (ema_decay is unset); "
            "pass use_ema=None or False to export the generator itself"
        )
    generator = ema.module if use_ema else model.generator
    store = getattr(torch, dtype)
    state = {}
    for key, value in generator.state_dict().items():
        stored = (value.detach().to(store) if value.is_floating_point() else value.detach()).cpu().contiguous()
        # float16 tops out at 65504: a larger weight would be stored as inf and every sample through it broken
        if stored.is_floating_point() and value.isfinite().all() and not stored.isfinite().all():
            raise GanZooError(
                f"the generator's {key} holds values up to {value.detach().abs().max().item():.4g}, beyond float16's "
                "range (65504); export it with dtype float32"
            )
        state[key] = stored
    created = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    try:
        _write_pretrained(model, directory, state, gen_config, bool(use_ema), dtype)
    except BaseException:
        if created and not any(directory.iterdir()):
            directory.rmdir()  # the folder this call made, left empty by the failed write
        raise
    return directory


def _write_pretrained(model, directory: Path, state: dict, gen_config: dict, use_ema: bool, dtype: str) -> None:
    """Write the two files into temporary names inside ``directory``, then rename them into place."""
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        tmp_weights = Path(tmp) / WEIGHTS_NAME
        save_file(state, str(tmp_weights))
        config = {
            "gan_zoo_version": gan_zoo_version(),
            "model": getattr(model, "registry_name", type(model).__name__),
            "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
            "latent_prior": model.hparams.get("latent_prior", "normal"),
            "generator": gen_config,
            "ema": use_ema,
            "dtype": dtype,
            "weights_sha256": sha256_file(tmp_weights),
        }
        tmp_config = Path(tmp) / CONFIG_NAME
        tmp_config.write_text(yaml.safe_dump(config, sort_keys=False))
        # safetensors writes its file owner-only (0600); an export is for others to load: the umask's mode
        umask = os.umask(0)
        os.umask(umask)
        for written in (tmp_weights, tmp_config):
            written.chmod(0o666 & ~umask)
        os.replace(tmp_weights, directory / WEIGHTS_NAME)
        os.replace(tmp_config, directory / CONFIG_NAME)


def state_dict_mismatch(
    state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], model: str, container: str, prefix: str = ""
) -> str | None:
    """The first key of ``state`` that is missing from, unexpected in or of another shape than ``expected``
    (``model`` names the owner of ``expected`` in a shape message, ``container`` in an unexpected-key one), with
    how many more; None when the two fit."""
    problems = [f"{prefix}{k} is missing" for k in expected if k not in state]
    problems += [f"{prefix}{k} is not in {container}" for k in state if k not in expected]
    problems += [
        f"{prefix}{k} has shape {tuple(state[k].shape)}, {model} {tuple(expected[k].shape)}"
        for k in expected
        if k in state and state[k].shape != expected[k].shape
    ]
    if not problems:
        return None
    return problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")


class PretrainedGenerator(nn.Module):
    """A loaded generator plus what sampling needs (its training prior).

    ``sample(n, labels=None, seed=None)`` is ``GANModule.sample``'s protocol (``gan_zoo.sampling``): the
    same seed gives the same samples as the model the generator was exported from. ``interpolate`` and
    ``traverse`` draw their inputs with ``gan_zoo.latent_paths`` from the same seeded draws.
    """

    def __init__(self, generator: nn.Module, latent_prior: str, config: dict, name: str | None = None) -> None:
        super().__init__()
        self.generator = generator
        self.latent_prior = latent_prior
        self.config = config
        self.name = name

    @property
    def latent_dim(self) -> int:
        return self.generator.latent_dim

    @property
    def num_classes(self) -> int | None:
        """How many label values ``sample`` takes (cGAN classes, InfoGAN categories), else None."""
        from gan_zoo.sampling import label_count

        return label_count(self.generator)

    def forward(self, *args, **kwargs):
        return self.generator(*args, **kwargs)

    @torch.no_grad()
    def generate(self, inputs: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """G(inputs[, labels]) in eval mode (running batch-norm statistics), on the generator's device."""
        device = next(self.generator.parameters()).device
        was_training = self.generator.training
        self.generator.eval()
        try:
            if labels is None:
                return self.generator(inputs.to(device))
            return self.generator(inputs.to(device), labels.to(device))
        finally:
            self.generator.train(was_training)

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, seed: int | None = None) -> torch.Tensor:
        """``n`` samples (n, ...) in eval mode; ``labels`` (n,) for nets that take them (default: balanced)."""
        from gan_zoo.sampling import sampling_inputs

        # n = 0 would reach the generator's reshape as an empty batch and fail there with torch's message
        if operator.index(n) < 1:  # operator.index: ints (numpy's too) pass, 2.5 is a TypeError
            raise ValueError(f"n must be at least 1 (the number of samples to draw), got {n!r}")
        return self.generate(*sampling_inputs(self.generator, operator.index(n), self.latent_prior, labels, seed))

    @torch.no_grad()
    def interpolate(self, rows: int, steps: int, labels: torch.Tensor | None = None, seed: int | None = None) -> torch.Tensor:
        """(rows, steps, C, H, W): each row a latent path between two seeded draws (spherical for Gaussian z),
        its label (rows,) held fixed (see ``gan_zoo.latent_paths.interpolation_inputs``)."""
        from gan_zoo.latent_paths import interpolation_inputs

        images = self.generate(*interpolation_inputs(self.generator, rows, steps, self.latent_prior, labels, seed))
        return images.view(rows, steps, *images.shape[1:])

    @torch.no_grad()
    def traverse(self, code: int, values: torch.Tensor, seed: int = 0) -> torch.Tensor:
        """(K, V, C, H, W) InfoGAN traversal: row k has c_cat = k, column v continuous code ``code`` = values[v]."""
        from gan_zoo.latent_paths import traversal_inputs

        images = self.generate(traversal_inputs(self.generator, code, values, self.latent_prior, seed))
        return images.view(-1, len(values), *images.shape[1:])


def load_pretrained_folder(
    directory: str | os.PathLike,
    map_location: str | torch.device = "cpu",
    expected_sha256: dict[str, str | None] | None = None,
    name: str | None = None,
) -> PretrainedGenerator:
    """Rebuild the generator from ``directory`` (made by ``save_pretrained``), verified by sha256, in eval mode.

    ``expected_sha256`` maps file name -> digest pinned elsewhere (the package's registry, the caller); the
    weights must also match the digest their own ``config.yaml`` records, which must be present.

    A folder whose config does not parse, names no generator net, or disagrees with its weights is a
    one-line ``GanZooError`` naming the file and what disagrees.
    """
    directory = Path(directory)
    config_path, weights_path = directory / CONFIG_NAME, directory / WEIGHTS_NAME
    for path in (config_path, weights_path):
        if not path.is_file():
            raise GanZooError(f"{path} is missing; a pretrained folder needs {CONFIG_NAME} and {WEIGHTS_NAME}")
    actual = {CONFIG_NAME: sha256_file(config_path), WEIGHTS_NAME: sha256_file(weights_path)}
    for filename, digest in (expected_sha256 or {}).items():
        if digest is not None and actual[filename] != digest:
            raise GanZooError(
                f"{directory / filename} has sha256 {actual[filename]}, but {digest} is pinned for it; "
                "the file is corrupt or was replaced — reinstall gan-zoo or download it again"
            )
    config = _read_config(config_path)
    if not config.get("weights_sha256"):
        raise GanZooError(
            f"{config_path} records no weights_sha256, so {weights_path} cannot be verified; "
            "export the folder again with `gan-zoo export` (it records the digest)"
        )
    if actual[WEIGHTS_NAME] != config["weights_sha256"]:
        raise GanZooError(
            f"{weights_path} has sha256 {actual[WEIGHTS_NAME]}, but {config_path} records {config['weights_sha256']}; "
            "the file is corrupt or was replaced — download it again"
        )
    generator = _build_generator(config, config_path)
    _load_weights(generator, weights_path, config_path, map_location)
    latent_prior = config.get("latent_prior", "normal")
    if latent_prior not in typing.get_args(LatentPrior):  # else the first sample() would fail on it
        raise GanZooError(f"{config_path} records latent_prior {latent_prior!r}, not one of "
                          f"{list(typing.get_args(LatentPrior))}; {_REEXPORT}")
    return PretrainedGenerator(generator, latent_prior, config, name).to(map_location).eval()


_REEXPORT = "was the folder exported by `gan-zoo export`? export it again with this gan_zoo version"


def _read_config(config_path: Path) -> dict:
    """``config.yaml`` as a mapping; YAML that does not parse (or is not a mapping) is a ``GanZooError``."""
    try:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        problem = " ".join(str(err).split())  # the parser's several lines (with the position) as one
        raise GanZooError(f"{config_path} is not valid YAML ({problem[:200]}); {_REEXPORT}") from None
    if not isinstance(config, dict):
        raise GanZooError(f"{config_path} holds a {type(config).__name__}, not the mapping `gan-zoo export` writes; "
                          f"{_REEXPORT}")
    return config


def _build_generator(config: dict, config_path: Path) -> nn.Module:
    """The generator net ``config["generator"]`` names (only a gan_zoo generator net, see
    ``registry.resolve_generator_class``), built from its init args."""
    import inspect

    from gan_zoo.registry import resolve_generator_class

    spec = config.get("generator")
    if not isinstance(spec, dict) or "class_path" not in spec:
        raise GanZooError(f"{config_path} has no generator: {{class_path, init_args}} entry; {_REEXPORT}")
    cls = resolve_generator_class(spec["class_path"], f"pretrained config {config_path}")
    init_args = spec.get("init_args") or {}
    if not isinstance(init_args, dict):
        raise GanZooError(f"{config_path}: generator.init_args is a {type(init_args).__name__}, not a mapping; "
                          f"{_REEXPORT}")
    try:  # names first: a misspelled or missing argument is the config's fault, said without a traceback
        inspect.signature(cls).bind(**init_args)
    except TypeError as err:
        raise GanZooError(f"{config_path}: the init_args do not fit {spec['class_path']} ({err}); {_REEXPORT}") from None
    try:
        generator = cls(**init_args)
    except (TypeError, ValueError, GanZooError) as err:  # values the net rejects (a string for latent_dim, ...)
        raise GanZooError(
            f"{config_path}: {spec['class_path']} cannot be built from its init_args ({type(err).__name__}: "
            f"{' '.join(str(err).split())[:200]}); {_REEXPORT}"
        ) from err
    if not isinstance(getattr(generator, "latent_dim", None), int):
        raise GanZooError(f"{config_path}: {spec['class_path']} built without an int latent_dim; {_REEXPORT}")
    return generator


def _load_weights(generator: nn.Module, weights_path: Path, config_path: Path, map_location) -> None:
    """Load the safetensors file into ``generator``; names and shapes must match exactly."""
    from safetensors import SafetensorError

    try:
        state = load_file(str(weights_path), device=str(map_location))
    except SafetensorError as err:
        raise GanZooError(f"{weights_path} is not a readable safetensors file ({err}); {_REEXPORT}") from None
    mismatch = state_dict_mismatch(state, generator.state_dict(), f"the net built from {CONFIG_NAME}", "the net")
    if mismatch:
        raise GanZooError(
            f"{weights_path} does not fit the generator {config_path} describes: {mismatch}; "
            "the two files come from different exports — export the folder again with `gan-zoo export`"
        )
    generator.load_state_dict(state)


def load_pretrained(
    source: str | os.PathLike,
    map_location: str | torch.device = "cpu",
    *,
    weights_sha256: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool | None = None,
) -> PretrainedGenerator:
    """A pretrained generator by name, folder or remote source, sha256-verified, in eval mode.

    Args:
        source: a name from ``gan_zoo.list_pretrained()`` (``"dcgan-mnist"``: verified against the package's
            registry); a folder made by ``save_pretrained`` / ``gan-zoo export`` (a ``Path``, or a string that
            is not a registry name: write ``./dcgan-mnist`` for a folder of that name); ``hf://owner/repo/folder
            [@revision]`` (needs ``huggingface_hub``; cached, offline once cached); or an ``https://`` (or
            ``file://``) folder URL, which needs ``weights_sha256``: its ``config.yaml`` is then accepted only
            if it records that digest.
        map_location: device for the weights.
        weights_sha256: pin the weights' digest (on top of the registry's and the config's).
        cache_dir: where remote sources are cached (default: the Hub's cache / ``$GAN_ZOO_CACHE``).
        local_files_only: never touch the network (default: on when ``$HF_HUB_OFFLINE`` or ``$GAN_ZOO_OFFLINE``
            is 1 / true / yes / on, for Hub and URL sources alike).
    """
    import gan_zoo.zoo as zoo

    if weights_sha256 is not None:
        if not re.fullmatch(r"[0-9a-fA-F]{64}", weights_sha256):
            raise GanZooError(
                f"weights_sha256 {weights_sha256!r} is not a sha256 digest (64 hex digits); pass the digest "
                f"of {WEIGHTS_NAME} (`sha256sum {WEIGHTS_NAME}`)"
            )
        weights_sha256 = weights_sha256.lower()  # sha256_file's spelling
    expected: dict[str, str | None] = {WEIGHTS_NAME: weights_sha256}
    name = None
    if isinstance(source, str) and zoo.is_registry_name(source):
        entry = zoo.get_pretrained(source)
        name = entry.name
        if weights_sha256 is not None and weights_sha256 != entry.weights_sha256:
            raise GanZooError(f"{source}: the pinned sha256 {weights_sha256} is not the registry's {entry.weights_sha256}")
        expected = {CONFIG_NAME: entry.config_sha256, WEIGHTS_NAME: entry.weights_sha256}
        folder = entry.folder() or zoo.fetch_source(
            entry.source, expected, cache_dir=cache_dir, local_files_only=local_files_only
        )
    elif isinstance(source, str) and ("://" in source):
        if not source.startswith("hf://") and weights_sha256 is None:
            raise GanZooError(
                f"{source}: a URL folder is fetched by digest; pass weights_sha256=<sha256 of its "
                f"{WEIGHTS_NAME}> to gan_zoo.load_pretrained (--weights-sha256 to gan-zoo sample / evaluate), "
                "or download the folder and pass its path"
            )
        # Only the weights are pinned: config.yaml comes unchecked, and load_pretrained_folder then requires
        # it to record exactly the pinned weights' digest.
        expected = {CONFIG_NAME: None, WEIGHTS_NAME: weights_sha256}
        folder = zoo.fetch_source(source, expected, cache_dir=cache_dir, local_files_only=local_files_only)
        name = source
    else:
        folder = Path(source)
        if not folder.is_dir():
            raise GanZooError(
                f"{source!r} is neither a pretrained name ({', '.join(e.name for e in zoo.list_pretrained())}) "
                "nor a folder made by `gan-zoo export`, nor hf://owner/repo/folder"
            )
    return load_pretrained_folder(folder, map_location, expected, name)


def read_checkpoint(path: str | os.PathLike, what: str = "checkpoint", required: tuple[str, ...] = ()) -> dict:
    """A ``gan-zoo fit`` checkpoint read with ``weights_only=True`` (nothing unpickled runs), as a dict.

    Args:
        path: the ``.ckpt`` file.
        what: how the error lines name it (``"--ckpt_path"``, ``"--weights_from"``, ``"checkpoint"``).
        required: top-level keys it must hold (``"state_dict"``, ``"hyper_parameters"``).

    A missing, truncated or foreign file, or a pickle that asks to run code, is a one-line ``GanZooError``.
    """
    import pickle
    import re

    path = Path(path)
    if what == "--weights_from":  # a pretrained folder is a valid --weights_from source itself
        exported = f" (for an exported generator pass its folder, {path.parent if path.is_file() else path}, to --weights_from)"
    else:
        exported = " (the folder `gan-zoo export` writes loads with --pretrained)"
    if path.is_dir():
        raise GanZooError(f"{what} {path} is a folder; pass the path of a .ckpt written by `gan-zoo fit`{exported}")
    if not path.is_file():
        raise GanZooError(f"{what} {path} does not exist; pass the path of a .ckpt written by `gan-zoo fit`")
    if path.suffix == ".safetensors":  # never a .ckpt: say where it goes instead of what torch.load makes of it
        raise GanZooError(f"{what} {path} is a safetensors file, not a .ckpt written by `gan-zoo fit`{exported}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "weights only load failed" not in str(err).lower():
            raise _unreadable(what, path, err) from None
        # torch's refusal is a paragraph about loading it anyway; one fixed line instead, naming what it asked for
        named = re.search(r"GLOBAL (\S+)", str(err))
        holds = f"it names {named.group(1)}" if named else "not tensors, numbers, strings or containers of them"
        raise GanZooError(
            f"cannot read {what} {path}: it holds objects other than tensors ({holds}); refused: checkpoints are "
            "loaded weights-only (weights_only=True), so no code in them runs — use a .ckpt written by `gan-zoo fit`"
        ) from None
    except Exception as err:  # a truncated file, not a checkpoint at all
        raise _unreadable(what, path, err) from None
    if not isinstance(checkpoint, dict) or any(key not in checkpoint for key in required):
        missing = next((key for key in required if key not in checkpoint), None) if isinstance(checkpoint, dict) else None
        problem = f"it has no {missing!r}" if missing else f"it holds a {type(checkpoint).__name__}, not a dict"
        raise GanZooError(f"{what} {path} is not a checkpoint written by `gan-zoo fit` ({problem}){exported}")
    return checkpoint


def _unreadable(what: str, path: Path, err: Exception) -> GanZooError:
    first_line = next((line for line in str(err).splitlines() if line.strip()), "")
    return GanZooError(
        f"cannot read {what} {path} as a weights-only gan-zoo checkpoint ({type(err).__name__}: "
        f"{first_line.strip()[:160]}); the file is truncated or not a .ckpt written by `gan-zoo fit`"
    )


def load_gan_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu"):
    """Load any gan_zoo training checkpoint (``.ckpt``) without knowing its class in advance.

    The class comes from the checkpoint's ``_class_path`` and must be a ``GANModule`` subclass inside
    ``gan_zoo``; tensors are read with ``weights_only=True``. Hyperparameters the class does not take, or
    weights that do not fit the model they describe, are a one-line ``GanZooError``.
    """
    from argparse import ArgumentError

    from jsonargparse import ArgumentParser

    from gan_zoo.models.base import GANModule
    from gan_zoo.registry import check_nested_class_paths, resolve_gan_zoo_class

    checkpoint = read_checkpoint(path, required=("state_dict", "hyper_parameters"))
    hparams = checkpoint["hyper_parameters"]
    if not isinstance(hparams, dict) or not hparams.get("_class_path"):
        raise GanZooError(f"checkpoint {path} records no _class_path: it was not written by `gan-zoo fit`; "
                          "load it with its model class's load_from_checkpoint, or train it with `gan-zoo fit`")
    class_path = hparams["_class_path"]
    cls = resolve_gan_zoo_class(class_path, GANModule, f"checkpoint {path} (write it with `gan-zoo fit`)")
    check_nested_class_paths(hparams, f"checkpoint {path}")
    # Check the hyperparameters the way Lightning's instantiator will parse them, but only parse (builds
    # nothing): its own error is a multi-line traceback from inside load_from_checkpoint.
    parser = ArgumentParser(exit_on_error=False)
    parser.add_class_arguments(cls, "hyper_parameters", fail_untyped=False)
    try:
        parser.parse_object({"hyper_parameters": {k: v for k, v in hparams.items() if not k.startswith("_")}})
    except ArgumentError as err:
        raise GanZooError(
            f"checkpoint {path}: its hyper_parameters do not fit {class_path} ({' '.join(str(err).split())[:300]}); "
            "was it written by `gan-zoo fit` with another gan_zoo version? use that version, or train it again"
        ) from None
    try:
        # weights_only here too: torch < 2.6 defaults to False, and this is a second read of the file
        model = cls.load_from_checkpoint(path, map_location=map_location, weights_only=True)
    except RuntimeError as err:
        if not str(err).startswith("Error(s) in loading state_dict"):
            raise
        details = [line.strip() for line in str(err).splitlines()[1:] if line.strip()]
        more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
        raise GanZooError(
            f"checkpoint {path}: its weights do not fit the model its hyper_parameters describe "
            f"({details[0][:240] if details else 'state dict mismatch'}{more}); it was written by another gan_zoo version "
            "(use that version), or edited or assembled from two runs (use the .ckpt as `gan-zoo fit` wrote it)"
        ) from None
    return model.eval()
