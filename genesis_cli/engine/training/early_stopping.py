"""Early stopping exactly as the guide's table, with GENESIS's definitions.

- Improvement is strict: better than the best so far by MORE than min_delta
  (mode min: value < best - min_delta; mode max: value > best + min_delta).
- Baseline: when set, it is the value to beat before anything counts as an improvement; epochs
  that do not beat it count towards patience, so a run that never reaches the baseline stops after
  ``patience`` epochs. (Keras' pre-2026 meaning.)
- A NaN or infinite metric is never an improvement (not even the first).
- Patience counts epochs without improvement; training stops when the count reaches patience
  (patience 0: at the first epoch without improvement).
- The trainer restores the best weights on every exit path (normal end, early stop, Ctrl-C) when
  restore_best is on and an improvement was ever recorded.
Messages follow the guide's example output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from genesis_cli.settings import TrainingConfig


@dataclass
class EarlyStopping:
    patience: int
    min_delta: float
    mode: str
    baseline: float | None
    restore_best: bool
    verbose: bool
    best: float | None = None
    best_epoch: int | None = None
    wait: int = 0
    stopped_epoch: int | None = None

    @classmethod
    def from_config(cls, training: TrainingConfig) -> EarlyStopping:
        return cls(training.early_stopping_patience, training.early_stopping_min_delta,
                   training.early_stopping_mode, training.early_stopping_baseline,
                   training.early_stopping_restore_best, training.early_stopping_verbose)

    @property
    def should_stop(self) -> bool:
        return self.stopped_epoch is not None

    def improves(self, value: float) -> bool:
        if not math.isfinite(value):  # a NaN or infinite metric never improves anything
            return False
        reference = self.best if self.best is not None else self.baseline
        if reference is None:
            return True
        if self.mode == "min":
            return value < reference - self.min_delta
        return value > reference + self.min_delta

    def step(self, value: float, epoch: int) -> tuple[bool, list[str]]:
        """Record epoch ``epoch``'s (1-based) metric; returns (improved, messages to print)."""
        messages: list[str] = []
        improved = self.improves(value)
        if improved:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.verbose:
                messages.append(f"EarlyStopping: Metric improved to {value:.6f}")
        else:
            self.wait += 1
            if self.verbose:
                messages.append(f"EarlyStopping: No improvement for {self.wait}/{self.patience} epochs")
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                messages.append(f"🛑 Early stopping triggered at epoch {epoch}")
                if self.best is not None:
                    messages.append(f"Best score: {self.best:.6f} at epoch {self.best_epoch}")
        return improved, messages

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "stopped_epoch": self.stopped_epoch, "patience": self.patience}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the counters of a run being resumed; patience stays as configured now (the new value
        wins). A run that had stopped early is not stopped any more: resuming it asks for more
        training, and the stop is decided again at the end of each epoch by the limits in force now."""
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        self.wait, self.stopped_epoch = int(state["wait"]), None
