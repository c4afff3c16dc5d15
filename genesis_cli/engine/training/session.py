"""Starting and resuming training runs: the engine behind ``genesis train`` and ``genesis resume``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from genesis_cli.engine.training import checkpoint as ckpt
from genesis_cli.engine.training.reports import TrainingObserver
from genesis_cli.engine.training.resume import resume_config, run_directory, saved_config
from genesis_cli.errors import UsageError
from genesis_cli.settings import ExperimentConfig, derive_config
from genesis_cli.settings.yaml_io import dump_yaml

RUN_FILES = ("model_epoch_*.pt", ckpt.BEST, ckpt.FINAL, "train.log", "metrics.jsonl", "config.yaml")


@dataclass
class PreparedRun:
    config: ExperimentConfig
    run_dir: Path
    resume: dict[str, Any] | None = None
    checkpoint: Path | None = None
    notices: list[str] = field(default_factory=list)


def _is_main_process() -> bool:
    """Only rank 0 of a distributed launch prepares and writes the run directory."""
    from genesis_cli.engine.training.components import Distributed

    return Distributed.from_environment().is_main


def prepare_new_run(config: ExperimentConfig, *, overwrite: bool = False) -> PreparedRun:
    """A fresh run directory for ``config``; an existing run is an error unless ``overwrite``."""
    run_dir = run_directory(config)
    if not _is_main_process():
        return PreparedRun(config, run_dir)
    existing = [p for pattern in RUN_FILES for p in run_dir.glob(pattern)] if run_dir.is_dir() else []
    if existing and not overwrite:
        raise UsageError(f"{run_dir}: already holds a run ({len(existing)} files)",
                         hint=f"continue it with `genesis resume {run_dir}`, choose another --experiment-name, "
                              "or pass --overwrite to start over")
    for path in existing:
        path.unlink()
    return PreparedRun(config, _make_dir(run_dir))


def prepare_resume(target: Path, requested: ExperimentConfig | None = None,
                   overrides: dict[str, Any] | None = None) -> PreparedRun:
    """Resume from a checkpoint file or a run directory (its newest checkpoint).

    ``requested`` (train --resume-from-checkpoint) or ``overrides`` (resume's flags, dotted keys)
    may change only what resume.ALLOWED_ON_RESUME allows.
    """
    path = ckpt.latest_checkpoint(target) if target.is_dir() else target
    payload = ckpt.load_checkpoint(path)
    saved = saved_config(payload["config"])
    if requested is None:
        given = {key: value for key, value in (overrides or {}).items() if value is not None}
        requested = derive_config(saved, given, "command line")
    config, notices = resume_config(payload["config"], requested)
    run_dir = path.parent  # a resumed run goes on writing next to its checkpoint
    notices.insert(0, f"resuming {path} at epoch {payload['epoch']}, step {payload['global_step']}")
    return PreparedRun(config, _make_dir(run_dir), payload, path, notices)


def _make_dir(run_dir: Path) -> Path:
    if not _is_main_process():
        return run_dir
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"{run_dir}: cannot create or write the run directory ({exc.strerror or exc})",
                         hint="set checkpoint_dir to a writable place") from exc
    return run_dir


def run(prepared: PreparedRun, observer: TrainingObserver | None = None, *, debug: bool = False) -> str:
    """Train (or continue); returns 'completed', 'early_stopped' or 'budget'; KeyboardInterrupt propagates."""
    from genesis_cli.engine.training.trainer import Trainer

    if _is_main_process():
        (prepared.run_dir / "config.yaml").write_text(dump_yaml(prepared.config.to_dict()), encoding="utf-8")
    trainer = Trainer(prepared.config, prepared.run_dir, observer=observer, resume=prepared.resume, debug=debug)
    try:
        return trainer.fit()
    finally:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
