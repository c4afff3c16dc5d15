"""What may change when a run is resumed.

A resumed run continues the checkpoint's config. Settings that do not change the computation so
far may differ (epochs, step and time budgets, early-stopping patience, intervals, device, logging, the path of the same
data file) and are reported; anything else (architecture, sizes, diffusion, optimiser, data split)
is an error, because the run would no longer be the run it resumes.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genesis_cli.errors import ConfigError
from genesis_cli.settings import ExperimentConfig

if TYPE_CHECKING:
    from genesis_cli.engine.runs.checkpoint import RunCheckpoint

ALLOWED_ON_RESUME = (
    "training.num_epochs", "training.max_steps", "training.time_budget", "training.early_stopping",
    "training.early_stopping_*", "training.log_interval",
    "training.eval_interval", "training.save_interval", "training.keep_checkpoints",
    "training.save_optimizer_in_best", "training.use_amp",
    "device", "data.h5_path", "data.num_workers", "data.memory_budget_gb", "data.shuffle_buffer_events",
    "use_wandb", "wandb_*", "log_dir", "output_dir", "checkpoint_dir", "description", "experiment_name",
    "sampling.*", "evaluation.*",  # how events are generated and judged afterwards: no part of training
)


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def resume_config(saved: dict[str, Any], requested: ExperimentConfig) -> tuple[ExperimentConfig, list[str]]:
    """The config to resume with: ``requested`` if it differs from ``saved`` only where allowed."""
    before, after = _flatten(saved), _flatten(requested.to_dict())
    defaults = _flatten(ExperimentConfig().to_dict())
    # a key the checkpoint does not hold (a judge's key its loading dropped) takes its default: no change
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)
                     and not (k not in before and after.get(k) == defaults.get(k)))
    refused = [k for k in changed if not any(fnmatch.fnmatch(k, pattern) for pattern in ALLOWED_ON_RESUME)]
    if refused:
        raise ConfigError(
            [f"{key}: cannot change on resume (checkpoint: {before.get(key)!r}, requested: {after.get(key)!r})"
             for key in refused],
            hint="resume with the checkpoint's settings, or start a new run with another --experiment-name")
    notices = []
    for key in changed:
        note = f"{key} changed on resume: {before.get(key)!r} -> {after.get(key)!r}"
        if key == "training.early_stopping_patience":
            note += " (the new patience applies)"
        notices.append(note)
    return requested, notices


def nothing_left(checkpoint: RunCheckpoint, config: ExperimentConfig, run_dir: Path) -> str | None:
    """Why resuming ``checkpoint`` under ``config`` would train nothing (it reached its epochs, steps or
    time, or stopped early and the patience in force would stop it again at once), with how to train
    on; None when there is training left."""
    t = config.training
    per_epoch = int((checkpoint.scheduler_state_dict or {}).get("steps_per_epoch") or 0)
    step = checkpoint.global_step
    extend = f"resume with a larger --epochs (now {t.num_epochs}), --max-steps or --time-budget"
    if per_epoch and step >= t.step_horizon(per_epoch):
        limit = (f"its --max-steps {t.max_steps:,}" if t.max_steps is not None and t.max_steps < per_epoch * t.num_epochs
                 else f"its {t.num_epochs} epoch(s)")
        return f"nothing to do: {run_dir} has finished {limit} ({step:,} steps); to train longer, {extend}"
    if t.time_budget is not None and checkpoint.training_seconds >= t.time_budget:
        return (f"nothing to do: {run_dir} has used its time budget ({checkpoint.training_seconds:,.0f} s of "
                f"{t.time_budget:,.0f} s); to train longer, {extend}")
    early = checkpoint.early_stopping_state or {}
    if t.early_stopping and early.get("stopped_epoch") is not None and int(early["wait"]) >= t.early_stopping_patience:
        wait = int(early["wait"])
        return (f"nothing to do: {run_dir} stopped early at epoch {early['stopped_epoch']} ({wait} epoch(s) without "
                f"improvement; patience {t.early_stopping_patience}), and would stop again after its next epoch; "
                f"to train on, raise --early-stopping-patience above {wait}")
    return None
