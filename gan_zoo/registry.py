"""A small, timm-like model registry.

Each model class registers under a short name (``"dcgan"``) with the nets it uses by default and a
``tiny`` override of their sizes that the test sweep uses. ``create_model`` builds through the same
instantiation path as the CLI (``lightning.pytorch.cli.instantiate_module``), so the hyperparameters a
checkpoint stores are the ``class_path``/``init_args`` dicts that ``load_from_checkpoint`` can rebuild,
never pickled modules.

Registration happens when a model's module is imported; ``gan_zoo/__init__.py`` imports ``gan_zoo.models``,
and Python runs a package's ``__init__`` before any of its submodules, so ``from gan_zoo.registry import
list_models`` always sees every model. This module never imports the models itself: they import it
(``register_model``), and an import back would close a circle (``tests/test_imports.py`` forbids one).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Callable

from gan_zoo.errors import GanZooError

__all__ = ["DCGAN_NETS_TINY", "ModelSpec", "register_model", "create_model", "list_models", "get_model_spec", "model_config"]


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about one model.

    Attributes:
        name: registry name, e.g. ``"dcgan"``.
        cls: the LightningModule class.
        defaults: init args of the paper-faithful default model, nets given as class_path/init_args dicts.
        tiny: overrides (merged into ``defaults``) that make the model small enough for CPU tests.
        conditional: whether ``sample`` needs labels.
    """

    name: str
    cls: type
    defaults: dict[str, Any]
    tiny: dict[str, Any] = field(default_factory=dict)
    conditional: bool = False


_REGISTRY: dict[str, ModelSpec] = {}


# The smoke-test ("tiny") sizes shared by every model built on the DCGAN nets (DCGAN, WGAN, WGAN-GP):
# 32×32 images, z of size 8, 8 base channels; deep-merged over a model's defaults by ``model_config``.
DCGAN_NETS_TINY: dict[str, Any] = {
    "generator": {"init_args": {"latent_dim": 8, "image_shape": [3, 32, 32], "base_channels": 8}},
    "discriminator": {"init_args": {"image_shape": [3, 32, 32], "base_channels": 8}},
}


def register_model(
    name: str, defaults: dict[str, Any], tiny: dict[str, Any] | None = None, conditional: bool = False
) -> Callable[[type], type]:
    """Class decorator: ``@register_model("dcgan", defaults={...}, tiny={...})``."""

    def wrap(cls: type) -> type:
        if name in _REGISTRY and _REGISTRY[name].cls is not cls:
            raise GanZooError(f"model name {name!r} is registered twice ({_REGISTRY[name].cls} and {cls}); pick another name")
        _REGISTRY[name] = ModelSpec(name, cls, defaults, tiny or {}, conditional)
        cls.registry_name = name
        return cls

    return wrap


def list_models() -> list[str]:
    """Sorted names of every registered model."""
    return sorted(_REGISTRY)


def get_model_spec(name: str) -> ModelSpec:
    if name not in _REGISTRY:
        raise GanZooError(f"unknown model {name!r}; choose one of {sorted(_REGISTRY)}")
    return _REGISTRY[name]


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge; ``override`` wins. Neither input is modified."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def model_config(name: str, tiny: bool = False, **overrides: Any) -> dict[str, Any]:
    """The init args ``create_model`` would use, as plain dicts (nets as class_path/init_args)."""
    spec = get_model_spec(name)
    config = deep_merge(spec.defaults, spec.tiny) if tiny else copy.deepcopy(spec.defaults)
    return deep_merge(config, overrides)


def create_model(name: str, tiny: bool = False, **overrides: Any):
    """Build a registered model.

    Args:
        name: a name from ``list_models()``.
        tiny: use the model's small test sizes.
        **overrides: init args merged over the defaults; nets as ``{"init_args": {...}}`` dicts.

    Example (32×32 RGB: the generator's and the discriminator's ``image_shape`` must agree):
        >>> shape = {"init_args": {"image_shape": [3, 32, 32]}}
        >>> model = create_model("dcgan", generator=shape, discriminator=shape)
        >>> model.sample(2, seed=0).shape
        torch.Size([2, 3, 32, 32])
    """
    spec = get_model_spec(name)
    return instantiate_from_config(spec.cls, model_config(name, tiny=tiny, **overrides))


def instantiate_from_config(cls: type, config: dict[str, Any]):
    """Instantiate ``cls`` from plain init args the way LightningCLI does.

    The hparams the module saves are then ``config`` itself (nets as class_path/init_args dicts) plus
    Lightning's instantiator tag, which is what ``load_from_checkpoint`` needs to rebuild the nets with
    ``weights_only=True``. (``_given_hyperparameters_context`` is the hook LightningCLI itself uses.)
    """
    import yaml
    from jsonargparse import ArgumentParser
    from lightning.pytorch.core.mixins.hparams_mixin import _given_hyperparameters_context

    parser = ArgumentParser(exit_on_error=False)
    parser.add_class_arguments(cls, "module", fail_untyped=False)
    parsed = parser.parse_object({"module": config})
    # Full init args with every default filled in, as plain data (what the CLI stores too).
    hparams = yaml.safe_load(parser.dump(parsed, skip_none=False))["module"]
    with _given_hyperparameters_context(hparams=hparams, instantiator="lightning.pytorch.cli.instantiate_module"):
        return parser.instantiate_classes(parsed).module


def resolve_gan_zoo_class(class_path: str, base: type, what: str) -> type:
    """The class named by ``class_path`` if it is defined in ``gan_zoo`` and subclasses ``base``.

    Configs and checkpoints from strangers may name only our own classes, never arbitrary callables.
    ``what`` names the source in the error ("pretrained config", "checkpoint ...").
    """
    import importlib

    if not isinstance(class_path, str):
        raise GanZooError(f"the {what} names no class (class_path is {class_path!r}); it may only name gan_zoo classes")
    module_name, _, class_name = class_path.rpartition(".")
    if not module_name.startswith("gan_zoo."):
        raise GanZooError(f"refusing to build {class_path!r} from the {what}: it may only name gan_zoo classes")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        raise GanZooError(f"{class_path!r} in the {what} names no gan_zoo module; it may only name gan_zoo classes") from None
    cls = getattr(module, class_name, None)
    # A gan_zoo module also holds names it imported (torchmetrics' FID in gan_zoo.metrics.scores, torch's
    # AveragedModel in gan_zoo.models.base): the class itself must be defined inside gan_zoo.
    if isinstance(cls, type) and not cls.__module__.startswith("gan_zoo."):
        raise GanZooError(
            f"refusing to build {class_path!r} from the {what}: it is {cls.__module__}.{cls.__qualname__}, "
            "imported into gan_zoo; it may only name gan_zoo classes"
        )
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise GanZooError(f"{class_path!r} in the {what} is not a gan_zoo {base.__name__} subclass")
    return cls


# Where the classes a checkpoint's hyperparameters may name live: gan_zoo's own (nets, models) and
# PyTorch's optimizers and schedulers (g_optimizer / d_optimizer).
CHECKPOINT_CLASS_PACKAGES = ("gan_zoo.", "torch.optim.")


def check_nested_class_paths(hparams: Any, what: str) -> None:
    """Refuse hyperparameters that name a class outside ``CHECKPOINT_CLASS_PACKAGES`` anywhere (nets,
    optimizers, their nested init args).

    Loading a checkpoint rebuilds every ``class_path`` in it (jsonargparse imports the module and calls the
    class with the stored arguments), so a stranger's file could otherwise import any installed module and build
    any ``nn.Module`` subclass. Checked by name before anything is imported, then by where the class is defined.
    """
    import importlib

    def class_paths(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            if "class_path" in value:
                yield value["class_path"]
            for item in value.values():
                yield from class_paths(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                yield from class_paths(item)

    for class_path in class_paths(hparams):
        refused = GanZooError(
            f"refusing to build {class_path!r} from the {what}: its hyperparameters may name only gan_zoo classes "
            "and torch.optim optimizers"
        )
        if not isinstance(class_path, str) or not class_path.startswith(CHECKPOINT_CLASS_PACKAGES):
            raise refused
        module_name, _, class_name = class_path.rpartition(".")
        try:
            cls = getattr(importlib.import_module(module_name), class_name, None)
        except ImportError:
            cls = None
        if not (isinstance(cls, type) and cls.__module__.startswith(CHECKPOINT_CLASS_PACKAGES)):
            raise refused


def resolve_generator_class(class_path: str, what: str) -> type:
    """The generator net named by ``class_path``: an ``nn.Module`` defined in ``gan_zoo.nets`` whose constructor
    takes ``latent_dim`` (the nets' protocol, ``gan_zoo.nets``).

    A pretrained config rebuilds only a generator; this keeps it from building a discriminator, a feature
    extractor or a whole ``GANModule`` (whose constructor would build more than the one net it loads).
    """
    import inspect

    from torch import nn

    cls = resolve_gan_zoo_class(class_path, nn.Module, what)
    if not cls.__module__.startswith("gan_zoo.nets.") or "latent_dim" not in inspect.signature(cls).parameters:
        raise GanZooError(
            f"{class_path!r} in the {what} is not a generator net (a gan_zoo.nets class that takes latent_dim); "
            "export the folder again with `gan-zoo export`"
        )
    return cls
