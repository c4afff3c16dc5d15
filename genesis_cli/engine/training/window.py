"""The training loss between host reads, and the progress line made of it.

The loop adds each step's loss to a :class:`LossWindow` on the device, with no synchronisation;
the host reads it only at log, eval and save points. :class:`LossHistory` turns a read window into
the numbers users see: the mean, a smoothed loss and the recent history for the dashboard's chart.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import torch

HISTORY = 60  # logged losses kept for the dashboard's chart
SMOOTHING = 0.9  # EMA factor of the smoothed loss shown to users


@dataclass
class LossWindow:
    """Losses since the last host read, kept on the device."""

    loss: torch.Tensor  # 0-d sum of the window's losses
    grad: torch.Tensor  # 0-d gradient norm of its latest step
    started: float = field(default_factory=time.perf_counter)
    count: int = 0  # steps
    events: int = 0  # events over every rank

    @classmethod
    def open(cls, device: torch.device) -> LossWindow:
        return cls(torch.zeros((), device=device), torch.zeros((), device=device))

    def add(self, loss: torch.Tensor, grad_norm: torch.Tensor, events: int) -> None:
        self.loss = self.loss + loss.float()
        self.grad = grad_norm.float()
        self.count += 1
        self.events += events

    def mean(self, world: int) -> float:
        """The mean loss over every rank (all ranks read at the same steps): a host read."""
        total = self.loss.detach().clone()
        if world > 1:
            torch.distributed.all_reduce(total)
        return float(total) / (self.count * world)

    def events_per_second(self) -> float:
        return self.events / max(time.perf_counter() - self.started, 1e-9)


@dataclass
class LossHistory:
    """Logged means, and their exponential smoothing."""

    recent: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY))
    smoothed: float | None = None

    def add(self, mean: float) -> float:
        """Record ``mean``; returns the smoothed loss."""
        self.recent.append(mean)
        self.smoothed = mean if self.smoothed is None else SMOOTHING * self.smoothed + (1 - SMOOTHING) * mean
        return self.smoothed
