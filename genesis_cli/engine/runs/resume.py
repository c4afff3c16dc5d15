"""What may change when a run is resumed.

A resumed run continues the checkpoint's config. Settings that do not change the computation so
far may differ (epochs, step and time budgets, early-stopping patience, intervals, device, logging, the path of the same
data file) and are reported; anything else (architecture, sizes, diffusion, optimiser, data split)
is an error, because the run would no longer be the run it resumes.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from genesis_cli.errors import ConfigError
from genesis_cli.settings import ExperimentConfig

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
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
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
