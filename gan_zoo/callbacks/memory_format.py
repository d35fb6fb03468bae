"""``ChannelsLast``: opt-in channels-last (NHWC) memory layout for the model's convolution weights.

    gan-zoo fit --config configs/dcgan/mnist.yaml --channels_last.enabled true

At ``setup('fit')`` every 4-D parameter and buffer of the LightningModule (G, D, an EMA copy of G, any other
net a model holds) is converted in place with ``module.to(memory_format=torch.channels_last)``. The tensors
keep their identity, shapes and values: only their strides change, so optimizers, checkpoints and state-dict
keys are unaffected, a channels-last run resumes a contiguous one (and back), and exported safetensors are
written contiguous (``gan_zoo.hub``). Inputs are left as they come: a convolution whose weight is
channels-last computes and returns channels-last, so the layout propagates from the first layer on.

Measured, not assumed (``python benchmarks/optimizers_and_layout.py --device cpu``, one DCGAN-MNIST step's
forward and backward, 1 thread on the shared 2-core CPU, two runs): 0.83-0.89× the contiguous time at the
paper's size (base 64, batch 128), 0.83-0.90× at the tiny proxy (base 8, batch 16). On CUDA it matters most
for tensor-core convolutions under ``16-mixed``/``bf16-mixed``; it was not measured on a GPU, which is why it stays off by default. Nets with no
convolutions (the MLPs) are unaffected.
"""

from __future__ import annotations

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info

__all__ = ["ChannelsLast"]


class ChannelsLast(L.Callback):
    """Convert the model's 4-D weights and buffers to ``torch.channels_last`` when a fit starts (off unless ``enabled``).

    Args:
        enabled: convert at all (``gan-zoo fit`` always adds this callback, off, and drops it from the trainer then).
    """

    def __init__(self, enabled: bool = False) -> None:
        super().__init__()
        self.enabled = enabled

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        # Before DDP wraps the model, the optimizers are built and a checkpoint is restored (which copies its
        # values into these tensors, keeping their layout).
        if not self.enabled or stage != "fit":
            return
        pl_module.to(memory_format=torch.channels_last)
        converted = sum(1 for t in [*pl_module.parameters(), *pl_module.buffers()] if t.dim() == 4)
        rank_zero_info(f"channels-last: {converted} four-dimensional weights and buffers")
