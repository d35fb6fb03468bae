"""Pretrained generators: ``config.yaml`` + ``generator.safetensors``, never a pickle.

A pretrained folder holds:
* ``config.yaml``: the model's registry name / class path and its init args (nets as class_path/init_args
  dicts), the gan_zoo version, and the sha256 of the weights file;
* ``generator.safetensors``: the generator's state dict (the EMA generator's when the model keeps one).

``load_pretrained`` rebuilds only the generator (no discriminator, no optimizer), checks the sha256,
and loads the tensors with safetensors — no code from the folder is ever executed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch
import yaml
from safetensors.torch import load_file, save_file
from torch import nn

from gan_zoo.errors import GanZooError
from gan_zoo.provenance import gan_zoo_version, sha256_file

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
    check_exportable = getattr(model, "check_exportable", None)  # ProGAN: only a fully grown generator
    if callable(check_exportable):
        check_exportable()
    directory.mkdir(parents=True, exist_ok=True)
    if use_ema is None:
        use_ema = model.generator_ema is not None
    generator = model.generator_ema.module if use_ema else model.generator
    gen_config = _plain(dict(model.hparams["generator"])) if isinstance(model.hparams.get("generator"), dict) else None
    if gen_config is None:
        raise GanZooError(
            "this model's hparams hold a generator module, not its config; build models with "
            "gan_zoo.create_model(...) or the gan-zoo CLI so they can be saved as pretrained"
        )
    if dtype not in ("float32", "float16"):
        raise GanZooError(f"dtype must be float32 or float16, got {dtype!r}")
    store = getattr(torch, dtype)
    state = {
        k: (v.detach().to(store) if v.is_floating_point() else v.detach()).cpu().contiguous()
        for k, v in generator.state_dict().items()
    }
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        tmp_weights = Path(tmp) / WEIGHTS_NAME
        save_file(state, str(tmp_weights))
        config = {
            "gan_zoo_version": gan_zoo_version(),
            "model": getattr(model, "registry_name", type(model).__name__),
            "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
            "latent_prior": model.hparams.get("latent_prior", "normal"),
            "generator": gen_config,
            "ema": bool(use_ema),
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
    return directory


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

        return self.generate(*sampling_inputs(self.generator, n, self.latent_prior, labels, seed))

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
    expected_sha256: dict[str, str] | None = None,
    name: str | None = None,
) -> PretrainedGenerator:
    """Rebuild the generator from ``directory`` (made by ``save_pretrained``), verified by sha256, in eval mode.

    ``expected_sha256`` maps file name -> digest pinned elsewhere (the package's registry, the caller); the
    weights must also match the digest their own ``config.yaml`` records, which must be present.
    """
    from gan_zoo.registry import instantiate_class_path

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
    config = yaml.safe_load(config_path.read_text())
    if not isinstance(config, dict) or not config.get("weights_sha256"):
        raise GanZooError(
            f"{config_path} records no weights_sha256, so {weights_path} cannot be verified; "
            "export the folder again with `gan-zoo export` (it records the digest)"
        )
    if actual[WEIGHTS_NAME] != config["weights_sha256"]:
        raise GanZooError(
            f"{weights_path} has sha256 {actual[WEIGHTS_NAME]}, but {config_path} records {config['weights_sha256']}; "
            "the file is corrupt or was replaced — download it again"
        )
    generator = instantiate_class_path(config["generator"], base=nn.Module)
    generator.load_state_dict(load_file(str(weights_path), device=str(map_location)))
    return PretrainedGenerator(generator, config.get("latent_prior", "normal"), config, name).to(map_location).eval()


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
            [@revision]`` (needs ``huggingface_hub``; cached, offline once cached); or an ``https://`` folder
            URL (needs ``weights_sha256``).
        map_location: device for the weights.
        weights_sha256: pin the weights' digest (on top of the registry's and the config's).
        cache_dir: where remote sources are cached (default: the Hub's cache / ``$GAN_ZOO_CACHE``).
        local_files_only: never touch the network (default: ``$HF_HUB_OFFLINE`` / ``$GAN_ZOO_OFFLINE``).
    """
    import gan_zoo.zoo as zoo

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
    path = Path(path)
    exported = " (the folder `gan-zoo export` writes loads with --pretrained)"
    if path.is_dir():
        raise GanZooError(f"{what} {path} is a folder; pass the path of a .ckpt written by `gan-zoo fit`{exported}")
    if not path.is_file():
        raise GanZooError(f"{what} {path} does not exist; pass the path of a .ckpt written by `gan-zoo fit`")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        missing = [key for key in required if key not in checkpoint]
        if missing:
            raise KeyError(f"no {missing[0]!r}")
    except Exception as err:  # a pickle with code in it, a truncated file, not a checkpoint at all
        first_line = next((line for line in str(err).splitlines() if line.strip()), "")
        raise GanZooError(
            f"cannot read {what} {path} as a weights-only gan-zoo checkpoint ({type(err).__name__}: "
            f"{first_line.strip()[:160]}); the file is truncated or not a .ckpt written by `gan-zoo fit`"
            + (exported if path.suffix == ".safetensors" else "")
        ) from None
    return checkpoint


def load_gan_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu"):
    """Load any gan_zoo training checkpoint (``.ckpt``) without knowing its class in advance.

    The class comes from the checkpoint's ``_class_path`` and must be a ``GANModule`` subclass inside
    ``gan_zoo``; tensors are read with ``weights_only=True``.
    """
    from gan_zoo.models.base import GANModule
    from gan_zoo.registry import resolve_gan_zoo_class

    checkpoint = read_checkpoint(path, required=("state_dict", "hyper_parameters"))
    class_path = checkpoint["hyper_parameters"].get("_class_path", "")
    cls = resolve_gan_zoo_class(class_path, GANModule, f"checkpoint {path} (write it with `gan-zoo fit`)")
    # weights_only here too: torch < 2.6 defaults to False, and this is a second read of the file
    return cls.load_from_checkpoint(path, map_location=map_location, weights_only=True).eval()
