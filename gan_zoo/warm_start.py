"""Warm starts: begin a new fit from trained weights (``gan-zoo fit --config CFG --weights_from SOURCE``).

``--ckpt_path`` *resumes* a run: the same model and hyperparameters, optimizer moments, trainer progress,
RNG state; a changed hyperparameter is refused, since it would silently train another model. A warm start
is the other case: new hyperparameters (BEGAN's λ_k, a learning rate, ``n_critic``), a new dataset of the
same shape, fine-tuning a shipped generator. It loads weights and nothing else:

* ``SOURCE`` a ``.ckpt`` written by ``gan-zoo fit``: the model's whole state dict (G, D, the EMA of G, and
  model state such as BEGAN's k_t or ProGAN's images shown), read with ``weights_only=True``; an EMA the
  checkpoint lacks starts from the loaded G at its first update, one the config does not keep is dropped;
  state derived from the source's past (ImprovedGAN's historical averages) restarts from the loaded weights;
* ``SOURCE`` a pretrained generator (a name from ``gan_zoo.list_pretrained()``, a folder from
  ``gan-zoo export``, ``hf://...``): G's weights, sha256-verified; D keeps its initialisation, an EMA
  of G starts from the loaded G at its first update, and historical averages from the weights as loaded.

The optimizers, the trainer's step and epoch counters and the callbacks start fresh; the config's
hyperparameters apply. The weights must fit the config's nets exactly (names and shapes), else one line
names the first mismatch.
"""

from __future__ import annotations

import os
from pathlib import Path

from torch import Tensor, nn

from gan_zoo.errors import GanZooError
from gan_zoo.hub import read_checkpoint, state_dict_mismatch

__all__ = ["load_initial_weights"]

EMA_PREFIX = "generator_ema."


def load_initial_weights(model: nn.Module, source: str | os.PathLike) -> str:
    """Load ``source``'s weights into ``model`` (a ``GANModule``) in place; returns what was loaded, in words."""
    path = Path(source)
    if path.suffix == ".ckpt" or path.is_file():
        state = read_checkpoint(path, "--weights_from", required=("state_dict",))["state_dict"]
        expected = model.state_dict()
        # The EMA of G may be switched on or off by the new config: a missing EMA starts from the loaded G at
        # its first update (n_averaged = 0), an EMA the config does not keep is dropped.
        state = {k: v for k, v in state.items() if not k.startswith(EMA_PREFIX) or k in expected}
        fresh_ema = [k for k in expected if k.startswith(EMA_PREFIX) and k not in state]
        state |= {k: expected[k] for k in fresh_ema}
        # State derived from the source's past (ImprovedGAN's historical averages) is not loaded, whether the
        # source or the config keeps it: the config's model's entries stand in, and reset_on_warm_start()
        # restarts them from the loaded weights below.
        resets = tuple(model.warm_start_resets)
        if resets:
            state = {k: v for k, v in state.items() if not k.startswith(resets)}
            state |= {k: v for k, v in expected.items() if k.startswith(resets)}
        _check_fits(state, expected, source)
        model.load_state_dict(state)
        model.reset_on_warm_start()
        note = "; the EMA of G starts from it" if fresh_ema else ""
        return f"{path}: the model's state dict{note}"
    from gan_zoo.hub import load_pretrained

    pretrained = load_pretrained(source)
    state = pretrained.generator.state_dict()
    _check_fits(state, model.generator.state_dict(), source, prefix="generator.")
    model.generator.load_state_dict(state)
    model.reset_on_warm_start()
    return f"{source}: the generator's weights (D keeps its initialisation)"


def _check_fits(state: dict[str, Tensor], expected: dict[str, Tensor], source: str | os.PathLike, prefix: str = "") -> None:
    """One line naming the first key that is missing, unexpected or of another shape (and how many more)."""
    mismatch = state_dict_mismatch(state, expected, "the config's model", "the config's model", prefix)
    if mismatch:
        raise GanZooError(
            f"--weights_from {source} does not fit the config's model: {mismatch}; use the nets "
            "(class, widths, image size, latent size) the weights were trained with"
        )
