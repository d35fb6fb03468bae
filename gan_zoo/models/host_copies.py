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

``DelayedHostRead`` is for host decisions that must fall in the same step on every device and every DDP rank
(BEGAN's learning-rate decay): the value pushed at step t is read at step t + delay, whenever its copy landed.
"""

from __future__ import annotations

from collections import deque

import torch
from torch import Tensor

__all__ = ["DelayedHostRead", "HostCopies"]


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
        host, event = _start_host_copy(stacked)  # on the CPU: the values themselves, ready now
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


def _start_host_copy(value: Tensor) -> tuple[Tensor, "torch.cuda.Event | None"]:
    """Copy ``value`` to the host without waiting: (host tensor, CUDA event recorded behind the copy or None)."""
    if value.device.type != "cuda":
        return value.detach().clone().cpu(), None  # a copy: ``.cpu()`` of a CPU tensor is the tensor itself
    host = torch.empty(value.shape, dtype=value.dtype, pin_memory=True)
    stream = torch.cuda.current_stream(value.device)  # the copy runs on the source device's stream ...
    with torch.cuda.stream(stream):
        host.copy_(value.detach(), non_blocking=True)
    event = torch.cuda.Event()
    event.record(stream)  # ... and the event must follow that stream, whatever device is current
    return host, event


class DelayedHostRead:
    """A 0-d device tensor read on the host exactly ``delay`` pushes after it was taken, on every device.

    ``HostCopies`` hands a copy over when it has landed, which on a GPU depends on timing, so two DDP ranks can
    act on the same value in different steps (and then train different models). ``push(value)`` at step t
    returns the value pushed at step t - delay, on the CPU and on a GPU alike. That copy was started ``delay``
    steps earlier; it has landed unless the host runs more than ``delay`` steps ahead of the device, and only
    then does the read wait for it: a bound on how far the host may run ahead, not a per-step sync.

    The values in flight are part of the training state: ``in_flight()`` lists them for a checkpoint and
    ``restart(values)`` puts them back after a load, so a resumed run reads what the straight run would have.
    """

    def __init__(self, delay: int, initial: int | float = 0) -> None:
        if delay < 1:
            raise ValueError(f"delay must be >= 1, got {delay}")
        self.delay = delay
        # oldest first: (host tensor, CUDA event or None); always exactly ``delay`` entries between pushes
        self._pending: deque[tuple[Tensor, torch.cuda.Event | None]] = deque()
        self.restart([initial] * delay)

    def restart(self, values: list[int | float]) -> None:
        """Forget the copies in flight and hold ``values`` (host numbers, oldest first) in their place."""
        if len(values) != self.delay:
            raise ValueError(f"expected {self.delay} values in flight, got {len(values)}")
        self._pending = deque((torch.tensor(v), None) for v in values)

    def in_flight(self) -> list[int | float]:
        """The values pushed and not yet read, oldest first (waits for their copies: for checkpoints, not steps)."""
        values = []
        for host, event in self._pending:
            if event is not None:
                event.synchronize()
            values.append(host.item())
        return values

    def push(self, value: Tensor) -> int | float:
        """Start copying ``value`` to the host; return the value pushed ``delay`` pushes ago."""
        self._pending.append(_start_host_copy(value))
        host, event = self._pending.popleft()
        if event is not None:
            event.synchronize()  # made ``delay`` steps ago: returns at once unless the host ran that far ahead
        return host.item()
