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

__all__ = ["save_pretrained", "load_pretrained", "load_gan_checkpoint", "PretrainedGenerator"]

CONFIG_NAME = "config.yaml"
WEIGHTS_NAME = "generator.safetensors"


def _plain(value):
    """Tuples -> lists, recursively, so the YAML stays plain (safe_load-able)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def save_pretrained(model, directory: str | os.PathLike, use_ema: bool | None = None) -> Path:
    """Write ``config.yaml`` and ``generator.safetensors`` for ``model`` (a ``GANModule``) into ``directory``.

    Files are written to temporary names and renamed only when complete; an existing folder's files are
    replaced only by a complete new pair.
    """
    directory = Path(directory)
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
    state = {k: v.detach().cpu().contiguous() for k, v in generator.state_dict().items()}
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
            "weights_sha256": sha256_file(tmp_weights),
        }
        tmp_config = Path(tmp) / CONFIG_NAME
        tmp_config.write_text(yaml.safe_dump(config, sort_keys=False))
        os.replace(tmp_weights, directory / WEIGHTS_NAME)
        os.replace(tmp_config, directory / CONFIG_NAME)
    return directory


class PretrainedGenerator(nn.Module):
    """A loaded generator plus what sampling needs (its training prior).

    ``sample(n, labels=None, seed=None)`` is ``GANModule.sample``'s protocol (``gan_zoo.sampling``): the
    same seed gives the same samples as the model the generator was exported from.
    """

    def __init__(self, generator: nn.Module, latent_prior: str, config: dict) -> None:
        super().__init__()
        self.generator = generator
        self.latent_prior = latent_prior
        self.config = config

    @property
    def latent_dim(self) -> int:
        return self.generator.latent_dim

    def forward(self, *args, **kwargs):
        return self.generator(*args, **kwargs)

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, seed: int | None = None) -> torch.Tensor:
        """``n`` samples (n, ...) in eval mode; ``labels`` (n,) for nets that take them (default: balanced)."""
        from gan_zoo.sampling import sampling_inputs

        z, labels = sampling_inputs(self.generator, n, self.latent_prior, labels, seed)
        device = next(self.generator.parameters()).device
        was_training = self.generator.training
        self.generator.eval()
        try:
            if labels is None:
                return self.generator(z.to(device))
            return self.generator(z.to(device), labels.to(device))
        finally:
            self.generator.train(was_training)


def load_pretrained(directory: str | os.PathLike, map_location: str | torch.device = "cpu") -> PretrainedGenerator:
    """Rebuild the generator from ``directory`` (made by ``save_pretrained``), verified by sha256, in eval mode."""
    from gan_zoo.registry import instantiate_class_path

    directory = Path(directory)
    config_path, weights_path = directory / CONFIG_NAME, directory / WEIGHTS_NAME
    for path in (config_path, weights_path):
        if not path.is_file():
            raise GanZooError(f"{path} is missing; a pretrained folder needs {CONFIG_NAME} and {WEIGHTS_NAME}")
    config = yaml.safe_load(config_path.read_text())
    actual = sha256_file(weights_path)
    if actual != config.get("weights_sha256"):
        raise GanZooError(
            f"{weights_path} has sha256 {actual}, but {config_path} records {config.get('weights_sha256')}; "
            "the file is corrupt or was replaced — download it again"
        )
    generator = instantiate_class_path(config["generator"], base=nn.Module)
    generator.load_state_dict(load_file(str(weights_path), device=str(map_location)))
    return PretrainedGenerator(generator, config.get("latent_prior", "normal"), config).to(map_location).eval()


def load_gan_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu"):
    """Load any gan_zoo training checkpoint (``.ckpt``) without knowing its class in advance.

    The class comes from the checkpoint's ``_class_path`` and must be a ``GANModule`` subclass inside
    ``gan_zoo``; tensors are read with ``weights_only=True``.
    """
    from gan_zoo.models.base import GANModule
    from gan_zoo.registry import resolve_gan_zoo_class

    path = Path(path)
    if not path.is_file():
        raise GanZooError(f"checkpoint {path} does not exist; pass the path of a .ckpt written by `gan-zoo fit`")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a pickle with code in it, a truncated file, not a checkpoint at all
        raise GanZooError(f"cannot read {path} as a weights-only checkpoint ({type(err).__name__}: {err})") from err
    class_path = checkpoint.get("hyper_parameters", {}).get("_class_path", "")
    cls = resolve_gan_zoo_class(class_path, GANModule, f"checkpoint {path} (write it with `gan-zoo fit`)")
    return cls.load_from_checkpoint(path, map_location=map_location).eval()
