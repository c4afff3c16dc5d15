"""What a training run reports as it goes: plain data for dashboards, logs and tests.

The trainer calls a ``TrainingObserver``'s hooks; the CLI's dashboard renders them, tests record
them. Every hook has an empty default, so an observer implements only what it shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from genesis_cli.engine.runtime.phases import PhaseAccount


@dataclass(frozen=True)
class RunInfo:
    experiment: str
    run_dir: str
    device: str
    architecture: str
    parameters: int
    train_events: int
    val_events: int
    steps_per_epoch: int
    total_steps: int
    num_epochs: int
    start_step: int
    patience: int | None  # None when early stopping is off
    amp: str | None
    processes: int = 1  # processes of a distributed launch (torchrun), each with its own device
    student: bool = False  # a distillation (genesis distill)

    @property
    def activity(self) -> str:
        return "Distilling" if self.student else "Training"

    @property
    def epochs_text(self) -> str:
        """``3/10`` when the epochs bound the run, else ``3``'s total left out: a step or time budget ends it."""
        return f"/{self.num_epochs}" if self.num_epochs * self.steps_per_epoch <= self.total_steps else ""

    @property
    def where(self) -> str:
        """``cuda:0``, or ``4 processes (cuda)`` for a distributed launch."""
        return self.device if self.processes == 1 else f"{self.processes} processes ({self.device.split(':')[0]})"


@dataclass(frozen=True)
class StepReport:
    epoch: int  # 1-based epoch in progress
    step: int  # optimisation steps completed
    total_steps: int
    loss: float
    smoothed_loss: float
    learning_rate: float
    grad_norm: float
    events_per_second: float
    elapsed_seconds: float
    memory_bytes: int
    history: tuple[float, ...] = field(default=())  # recent losses (for a chart)
    budget_seconds_left: float | None = None  # time left of training.time_budget (None: no time budget)
    start_step: int = 0  # the step this process started at (a resumed run's checkpoint step)

    @property
    def percent(self) -> float:
        """Progress through the run's planned steps, as the guide's console shows it."""
        return 100.0 * self.step / max(self.total_steps, 1)

    @property
    def eta_seconds(self) -> float:
        """Time left at this process's pace: elapsed_seconds covers the steps since start_step only."""
        done = max(self.step - self.start_step, 1)
        by_steps = self.elapsed_seconds / done * (self.total_steps - self.step)
        return by_steps if self.budget_seconds_left is None else min(by_steps, self.budget_seconds_left)


@dataclass(frozen=True)
class EvalReport:
    epoch: int
    step: int
    val_loss: float


@dataclass(frozen=True)
class EpochReport:
    epoch: int
    step: int
    train_loss: float
    monitored_loss: float
    monitor: str  # "val_loss" or "train_loss"
    improved: bool
    best_loss: float | None
    best_epoch: int | None
    patience_used: int
    patience: int | None


class TrainingObserver:
    """Receives a run's reports; override the hooks you need."""

    def on_start(self, info: RunInfo) -> None:
        """Training is about to start (or resume)."""

    def on_step(self, report: StepReport) -> None:
        """Called every log_interval steps."""

    def on_eval(self, report: EvalReport) -> None:
        """A validation loss was computed."""

    def on_epoch(self, report: EpochReport) -> None:
        """An epoch finished."""

    def on_message(self, text: str) -> None:
        """A line for the user (early-stopping messages, checkpoints, notices)."""

    def on_phases(self, account: PhaseAccount) -> None:
        """Where this process's training time went (phases.py), just before ``on_end``."""

    def on_end(self, reason: str) -> None:
        """Training ended: 'completed', 'early_stopped', 'budget' or 'interrupted'."""
