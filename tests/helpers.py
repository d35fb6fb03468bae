"""Small shared utilities for tests (tiny trainers and random datasets)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parents[1]  # the repository
DIGITS = str(ROOT / "configs" / "dcgan" / "digits.yaml")  # the embedded default config: fast, no dataset files


def random_loader(image_shape, n: int = 32, batch_size: int = 8, num_classes: int | None = 10, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, *image_shape, generator=g) * 2 - 1
    tensors = [x] if num_classes is None else [x, torch.randint(num_classes, (n,), generator=g)]
    return DataLoader(TensorDataset(*tensors), batch_size=batch_size, shuffle=False, drop_last=True)


def tiny_trainer(root, **kwargs) -> L.Trainer:
    defaults = dict(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(root),
        log_every_n_steps=1,  # the base logs only on batches Lightning writes to the loggers; tests read each step's
    )
    defaults.update(kwargs)
    return L.Trainer(**defaults)


def params_of(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b))


def load_script(name: str) -> ModuleType:
    """Import ``scripts/<name>.py`` (the scripts folder is not a package) as a module."""
    path = Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
