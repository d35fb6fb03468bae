"""Host copies of logged scalars, made without stalling the device (for the progress bar).

Lightning's progress bar turns every ``prog_bar=True`` value into a Python number at the end of *every*
batch (``convert_tensors_to_scalars`` → ``Tensor.item()``), and it keeps doing so for the last logged value
until the epoch ends. For a CUDA tensor each of those reads waits for all queued GPU work: one host-device
sync per step, which is what stops the CPU from running ahead of the GPU. So the bar is fed host tensors:

1. at a logging step, the scalars are stacked on the device and copied into pinned host memory with
   ``non_blocking=True``; a CUDA event is recorded behind the copy;
2. on later steps ``ready()`` asks the event whether the copy finished (``Event.query``, which never
   blocks) and hands the host values over once it has, usually one or two steps later.

On the CPU the copy is the values themselves and is ready at once.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["HostCopies"]


class HostCopies:
    """Logged scalars copied to the host without a sync; ``ready()`` hands each finished copy over once."""

    def __init__(self) -> None:
        # copies in flight, oldest first: (names, (K,) float32 host tensor, CUDA event or None)
        self._pending: list[tuple[list[str], Tensor, torch.cuda.Event | None]] = []

    def push(self, values: dict[str, Tensor]) -> None:
        """Start copying ``values`` (name -> 0-d tensor, all on one device) to the host."""
        if not values:
            return
        stacked = torch.stack([v.detach().float().reshape(()) for v in values.values()])  # (K,)
        if stacked.device.type == "cuda":
            host = torch.empty(stacked.shape, dtype=stacked.dtype, pin_memory=True)
            host.copy_(stacked, non_blocking=True)
            event = torch.cuda.Event()
            event.record()
        else:
            host, event = stacked.cpu(), None  # on the CPU: the values themselves, ready now
        self._pending.append((list(values), host, event))

    def ready(self) -> dict[str, Tensor]:
        """The values of every finished copy, as host 0-d tensors (later copies win on a name clash);
        empty while none has finished. ``Event.query`` never blocks."""
        out: dict[str, Tensor] = {}
        while self._pending and (self._pending[0][2] is None or self._pending[0][2].query()):
            names, host, _ = self._pending.pop(0)
            out.update({name: host[i] for i, name in enumerate(names)})
        return out

    def ready_numbers(self) -> dict[str, float]:
        """``ready()`` as Python numbers, for host-side decisions inside a step: the copies it reads have
        already landed in host memory, so converting them waits for nothing."""
        return {name: value.tolist() for name, value in self.ready().items()}
