"""Learning rates: a pure function of the step (nanoGPT style), plus the plateau rule's state.

With the LR a function of (step, total steps, settings), a resumed run gets exactly the LR of an
uninterrupted one; only ``plateau`` depends on history, and its state lives in checkpoints.
Warmup is linear from lr / W to lr over the first W steps, W = warmup_ratio * total steps when
warmup_ratio > 0, else warmup_steps, for every schedule.

- cosine: lr * (1 + cos(pi * p)) / 2 after warmup, p the fraction of post-warmup steps done.
- linear: lr * (1 - p), decaying to 0 at the last step.
- step:   lr * gamma ** (epoch // step_size).
- plateau: lr * scale, scale multiplied by plateau_factor after more than plateau_patience epochs
  without improvement of the validation loss, never below plateau_min_lr (PyTorch's
  ReduceLROnPlateau rule, relative threshold 1e-4).
- none:   lr.

With a time budget (training.time_budget) the schedule's progress is the larger of the step fraction
and the fraction of the budget used, so cosine and linear decay finish when the budget runs out
however fast the machine is; such a run's LR depends on its timing (a resumed run continues from
the training time saved in its checkpoint).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from genesis_cli.settings import TrainingConfig

PLATEAU_THRESHOLD = 1e-4


def learning_rate(step: int, total_steps: int, steps_per_epoch: int, training: TrainingConfig,
                  plateau_scale: float = 1.0, time_fraction: float = 0.0) -> float:
    """The LR of optimisation step ``step`` (0-based); ``time_fraction``: share of the time budget used."""
    base = training.learning_rate
    warmup = training.effective_warmup_steps(total_steps)
    if step < warmup:
        return base * (step + 1) / warmup
    progress = max((step - warmup) / max(1, total_steps - warmup), time_fraction)
    schedule = training.scheduler
    if schedule == "cosine":
        return base * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
    if schedule == "linear":
        return base * max(0.0, 1.0 - progress)
    if schedule == "step":
        return base * training.gamma ** ((step // max(steps_per_epoch, 1)) // training.step_size)
    if schedule == "plateau":
        return base * plateau_scale  # PlateauState keeps the scale above plateau_min_lr
    return base


@dataclass
class PlateauState:
    """ReduceLROnPlateau on the validation loss, evaluated once per epoch."""

    scale: float = 1.0
    best: float = math.inf
    bad_epochs: int = 0

    def update(self, value: float, training: TrainingConfig) -> bool:
        """Record an epoch's validation loss; True when the LR was just reduced."""
        if value < self.best * (1 - PLATEAU_THRESHOLD):
            self.best, self.bad_epochs = value, 0
            return False
        self.bad_epochs += 1
        if self.bad_epochs > training.plateau_patience:
            floor = training.plateau_min_lr / training.learning_rate
            new_scale = max(self.scale * training.plateau_factor, floor)
            reduced = new_scale < self.scale
            self.scale, self.bad_epochs = new_scale, 0
            return reduced
        return False

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scale, self.best, self.bad_epochs = float(state["scale"]), float(state["best"]), int(state["bad_epochs"])
