"""Where a training run's wall time goes: data, forward, backward, optimizer, logging, evaluation, checkpoints.

`genesis train` and `genesis bench` run the same :class:`~genesis_cli.engine.training.step.TrainStep`,
so a gap between the loop's events/s and the benchmark's is the time the loop spends outside the
step. A :class:`PhaseClock` times each part of the loop; the run reports the table at its end
(train.log, metrics.jsonl, the dashboard) and ``genesis bench --what loop`` (bench/accounting.py)
sets it beside the benchmark's.

On a GPU, kernels run asynchronously: without synchronising, a phase's wall time is the time the
host spent in it, and the device's work lands in whichever phase next waits for it (a log point's
read of the loss, a pinned copy). ``training.profile_phases`` synchronises the device at every phase
boundary, so that each phase holds exactly its own work, at the cost of the overlap it removes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch

#: The phases of one training step, in the order they run (step.py times the middle three).
STEP_PHASES = ("forward", "backward", "optimizer")
#: Every phase of the loop, in the order a report lists them.
PHASES = ("data", *STEP_PHASES, "logging", "evaluation", "checkpoint")


@dataclass(frozen=True)
class PhaseAccount:
    """Seconds per phase over ``steps`` steps and ``wall`` seconds of the loop (the rest: ``other``)."""

    seconds: dict[str, float]
    steps: int
    wall: float
    synchronised: bool

    @property
    def other(self) -> float:
        """Loop time in no phase: the loop's own bookkeeping (and clock overhead)."""
        return max(self.wall - sum(self.seconds.values()), 0.0)

    def share(self, phase: str) -> float:
        """Fraction of the loop's wall time spent in ``phase`` ('other' for the remainder)."""
        value = self.other if phase == "other" else self.seconds.get(phase, 0.0)
        return value / self.wall if self.wall > 0 else 0.0

    def per_step_ms(self, phase: str) -> float:
        value = self.other if phase == "other" else self.seconds.get(phase, 0.0)
        return 1000 * value / self.steps if self.steps else 0.0

    def summary(self) -> str:
        """One line: 'time per step 41.2 ms: data 3% · forward 31% · ... (device synchronised)'."""
        parts = [f"{name} {self.share(name):.0%}" for name in (*PHASES, "other") if self.share(name) >= 0.005]
        step_ms = 1000 * self.wall / self.steps if self.steps else 0.0
        note = "device synchronised at each phase" if self.synchronised else "host wall time"
        return f"time per step {step_ms:.1f} ms over {self.steps:,} steps: " + " · ".join(parts) + f" ({note})"

    def record(self) -> dict[str, float | int | bool]:
        """A flat record for metrics.jsonl."""
        return {"steps": self.steps, "wall_seconds": round(self.wall, 6), "synchronised": self.synchronised,
                **{f"{name}_seconds": round(self.seconds.get(name, 0.0), 6) for name in PHASES},
                "other_seconds": round(self.other, 6)}


class PhaseClock:
    """Accumulates wall seconds per phase while running (``start``/``stop``); ``synchronise`` waits for
    ``device`` at each boundary. The first ``warmup`` steps (``step_done``) are not counted: the
    account starts afresh after them (compilation, allocator and cuDNN warm-up stay out of it).

    Phases do not nest: a phase opened inside another is not timed on its own (the outer one keeps
    the time), so the phases always add up to no more than the loop's wall time. A phase entered
    while the clock is stopped is not timed.
    """

    def __init__(self, device: torch.device, synchronise: bool = False, *, warmup: int = 0) -> None:
        self.device, self.synchronise = device, synchronise and device.type == "cuda"
        self.warmup = warmup
        self.seconds: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        self.steps = 0  # counted steps (after the warm-up)
        self._seen = 0  # every step
        self._open = False
        self._started: float | None = None
        self._wall = 0.0

    def step_done(self) -> None:
        """One more step; at the end of the warm-up, everything timed so far is forgotten."""
        self._seen += 1
        if self._seen <= self.warmup:
            if self._seen == self.warmup:
                self.seconds = dict.fromkeys(PHASES, 0.0)
                self._wall = 0.0
                if self._started is not None:
                    self._sync()
                    self._started = time.perf_counter()
            return
        self.steps += 1

    def start(self) -> None:
        """Start (or restart after ``stop``) the loop's wall clock."""
        self._sync()
        self._started = time.perf_counter()

    def stop(self) -> None:
        self._sync()
        if self._started is not None:
            self._wall += time.perf_counter() - self._started
            self._started = None

    def _sync(self) -> None:
        if self.synchronise:
            torch.cuda.synchronize(self.device)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        if self._open or self._started is None:
            yield
            return
        self._open = True
        self._sync()
        begun = time.perf_counter()
        try:
            yield
        finally:
            self._sync()
            self.seconds[name] += time.perf_counter() - begun
            self._open = False

    def account(self) -> PhaseAccount:
        wall = self._wall + (time.perf_counter() - self._started if self._started is not None else 0.0)
        return PhaseAccount(dict(self.seconds), self.steps, wall, self.synchronise)


class NoClock(PhaseClock):
    """A clock that times nothing (the step outside a timed loop)."""

    def __init__(self) -> None:
        super().__init__(torch.device("cpu"))

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        yield
