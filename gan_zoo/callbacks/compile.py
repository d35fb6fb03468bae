"""``CompileNets``: opt-in ``torch.compile`` of the generator and discriminator for a fit.

    gan-zoo fit --config configs/dcgan/mnist.yaml --compile.enabled true [--compile.mode max-autotune]

The nets are compiled in place (``nn.Module.compile``), so their state-dict keys, checkpoints, EMA copies and
exported weights are the same as without compilation, and a compiled run resumes an eager one (and back).
Only the nets' ``forward`` is compiled; the loop, the losses and the optimizers stay eager.

What compilation cannot do here, and what the callback does about it:

* **Differentiating twice through D.** WGAN-GP's (and ProGAN's) gradient penalty backpropagates through
  ∂D/∂x̂ (``create_graph=True``); AOTAutograd, behind every ``torch.compile`` backend except ``eager``,
  refuses that ("does not currently support double backward", torch 2.14). Models say so in
  ``GANModule.nets_differentiated_twice``; by default (``nets: auto``) those nets stay eager and a line
  says so; naming one of them in ``nets`` is a one-line error.
* **Cost.** The first call of each net pays the compilation (and a call in another mode recompiles: the
  training flag is part of what the compiled graph is specialised on). On the shared 2-core CPU the compiled
  DCGAN proxy then ran 1.26× slower than eager (``benchmarks/throughput.py --sections plain as_fit
  compiled``; README, Benchmarks); on a GPU it is not measured yet.

Compilation happens in ``setup('fit')``: before DDP wraps the model and before the first batch, on every rank.
"""

from __future__ import annotations

from typing import Any, Literal

import lightning as L
from lightning.pytorch.utilities import rank_zero_info

from gan_zoo.errors import GanZooError

__all__ = ["CompileNets"]

NET_NAMES = ("generator", "discriminator")


class CompileNets(L.Callback):
    """``torch.compile`` the model's nets when a fit starts (off unless ``enabled``).

    Args:
        enabled: compile at all (``gan-zoo fit`` always adds this callback, off).
        nets: which nets: ``"auto"`` (both, except those the model differentiates twice, see the module
            docstring) or a list of ``"generator"`` / ``"discriminator"``.
        backend: ``torch.compile``'s backend (``inductor``; ``aot_eager`` traces without generating code,
            which the tests use to stay fast).
        mode: ``torch.compile``'s mode (``default``, ``reduce-overhead`` for CUDA graphs, ``max-autotune``...).
        fullgraph: fail instead of falling back to eager around graph breaks.
        dynamic: ``torch.compile``'s ``dynamic`` (``None``: decide after a shape changes).
    """

    def __init__(
        self,
        enabled: bool = False,
        nets: Literal["auto"] | list[Literal["generator", "discriminator"]] = "auto",
        backend: str = "inductor",
        mode: str | None = None,
        fullgraph: bool = False,
        dynamic: bool | None = None,
    ) -> None:
        super().__init__()
        if nets != "auto":
            unknown = [n for n in nets if n not in NET_NAMES]
            if unknown or not nets:
                raise GanZooError(f"compile.nets must be 'auto' or a non-empty list of {list(NET_NAMES)}, got {nets}")
        self.enabled = enabled
        self.nets = nets
        self.options: dict[str, Any] = {"backend": backend, "mode": mode, "fullgraph": fullgraph, "dynamic": dynamic}

    def nets_to_compile(self, pl_module: L.LightningModule) -> list[str]:
        """The nets this callback compiles for ``pl_module`` (raises for a net that cannot be compiled)."""
        twice = tuple(getattr(pl_module, "nets_differentiated_twice", ()))
        if self.nets == "auto":
            return [n for n in NET_NAMES if n not in twice]
        refused = [n for n in self.nets if n in twice]
        if refused and self.options["backend"] != "eager":
            raise GanZooError(
                f"--compile.nets names {refused[0]}, which {type(pl_module).__name__} differentiates twice "
                "(gradient penalty) and torch.compile cannot; use --compile.nets auto (compiles the others)"
            )
        return list(self.nets)

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if not self.enabled or stage != "fit":
            return
        names = self.nets_to_compile(pl_module)
        for name in names:
            getattr(pl_module, name).compile(**self.options)  # in place: state-dict keys unchanged
        skipped = [n for n in NET_NAMES if n not in names]
        rank_zero_info(
            f"torch.compile ({self.options['backend']}): {', '.join(names) or 'no net'}"
            + (f"; eager: {', '.join(skipped)}" if skipped else "")
        )
