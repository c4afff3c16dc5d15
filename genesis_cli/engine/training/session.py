"""Starting and resuming training runs: the engine behind ``genesis train`` and ``genesis resume``.

Order matters, so that a bad input never costs a user a file: ``prepare_*`` checks what can be
checked cheaply (an existing run, a busy directory, a writable place, optional packages) and writes
nothing; ``run`` builds the trainer (reads and validates the data, the config and the checkpoint),
and only then claims the run directory (runs/directory.py: lock, set an overwritten run aside) and
writes into it.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from genesis_cli.engine.atomic_files import write_text_atomic
from genesis_cli.engine.runs.checkpoint import FOR_RESUMING, RunCheckpoint, load_checkpoint
from genesis_cli.engine.runs.directory import TENSORBOARD_FILES, RunClaim, busy_error, lock_holder, run_directory
from genesis_cli.engine.runs.reports import TrainingObserver
from genesis_cli.engine.runs.resume import nothing_left, resume_config
from genesis_cli.engine.runs.store import BEST, FINAL, REGULAR_GLOB, newest_checkpoint
from genesis_cli.engine.runtime.distributed import Distributed
from genesis_cli.engine.training.lr_schedule import learning_rate
from genesis_cli.errors import UsageError
from genesis_cli.settings import ExperimentConfig, derive_config
from genesis_cli.settings.yaml_io import dump_yaml

if TYPE_CHECKING:
    from genesis_cli.engine.training.trainer import Trainer

CHECKPOINT_FILES = (REGULAR_GLOB, BEST, FINAL)
RECORD_FILES = ("train.log", "metrics.jsonl", "config.yaml")
#: Settings that say where a run writes: on ``genesis resume`` they come from the current command
#: (its defaults), never from the checkpoint, which may have been written elsewhere or crafted.
OUTPUT_PATHS = ("log_dir", "output_dir")


@dataclass
class PreparedRun:
    config: ExperimentConfig
    run_dir: Path
    resume: RunCheckpoint | None = None
    checkpoint: Path | None = None
    notices: list[str] = field(default_factory=list)
    overwrite: bool = False
    nothing_left: str | None = None  # a resumed run with no training left: why, and how to train on

    @property
    def tensorboard_dir(self) -> Path:
        return Path(self.config.log_dir) / self.config.experiment_name


def is_main_process() -> bool:
    """Only rank 0 of a distributed launch prepares and writes the run directory."""
    return Distributed.from_environment().is_main


def previous_run(run_dir: Path, tensorboard_dir: Path) -> tuple[list[Path], list[Path]]:
    """(checkpoints, other files) a new run in ``run_dir`` would replace: its checkpoints, then its
    records and the TensorBoard event files under ``tensorboard_dir``."""
    checkpoints = [p for pattern in CHECKPOINT_FILES for p in run_dir.glob(pattern)] if run_dir.is_dir() else []
    records = [p for pattern in RECORD_FILES for p in run_dir.glob(pattern)] if run_dir.is_dir() else []
    if tensorboard_dir.is_dir():
        records += sorted(tensorboard_dir.glob(TENSORBOARD_FILES))
    return checkpoints, records


def holds_run(config: ExperimentConfig) -> Path | None:
    """The run directory of ``config`` when it already holds a run (a checkpoint), else None."""
    run_dir = run_directory(config)
    return run_dir if previous_run(run_dir, Path(config.log_dir) / config.experiment_name)[0] else None


def next_version(config: ExperimentConfig) -> ExperimentConfig:
    """``config`` renamed to the first free ``NAME_vN`` (N >= 2; Lightning's version_N habit): a new
    run beside an existing one instead of over it. A name that is a version already counts on."""
    base = re.sub(r"_v\d+$", "", config.experiment_name)
    versions = (derive_config(config, {"experiment_name": f"{base}_v{n}"}, "new version") for n in itertools.count(2))
    return next(c for c in versions if not any(previous_run(run_directory(c), Path(c.log_dir) / c.experiment_name)))


def recent_runs(checkpoint_dir: Path, limit: int = 5) -> list[Path]:
    """Run directories under ``checkpoint_dir`` holding a checkpoint, the most recently written first."""
    if not checkpoint_dir.is_dir():
        return []
    newest = {run: max(p.stat().st_mtime for p in checkpoints)
              for run in checkpoint_dir.iterdir() if run.is_dir()
              if (checkpoints := [p for pattern in CHECKPOINT_FILES for p in run.glob(pattern)])}
    return sorted(newest, key=newest.__getitem__, reverse=True)[:limit]


def _check_new_run(prepared: PreparedRun) -> list[str]:
    """Refuse to start where a run already is (unless overwriting); notices for what will be replaced."""
    run_dir = prepared.run_dir
    checkpoints, records = previous_run(run_dir, prepared.tensorboard_dir)
    if checkpoints and not prepared.overwrite:
        raise UsageError(f"{run_dir}: already holds a run ({len(checkpoints)} checkpoint(s))",
                         hint=f"continue it with `genesis resume {run_dir}`, choose another --experiment-name, "
                              "or pass --overwrite to replace it (it is removed once the new run saves a checkpoint)")
    if checkpoints:
        return [f"replacing the run in {run_dir}: it is removed once the new run writes its first checkpoint"]
    if records:  # a run killed before its first checkpoint: nothing to resume, so it must not block a retry
        return [f"replacing the records of a run in {run_dir} that never wrote a checkpoint ({len(records)} file(s)); "
                "they are removed once the new run writes its first checkpoint"]
    return []


def _check_not_busy(run_dir: Path) -> None:
    holder = lock_holder(run_dir)
    if holder is not None:
        raise busy_error(run_dir, holder)


def _check_writable(directory: Path) -> None:
    """The run directory can be created here (checked on its nearest existing ancestor, creating nothing)."""
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{directory}: cannot create or write the run directory ({existing} is not a writable folder)",
                         hint="set checkpoint_dir to a writable place")


def _check_wandb(config: ExperimentConfig) -> None:
    if config.use_wandb:
        from genesis_cli.engine.runs.records import require_wandb

        require_wandb()


def prepare_new_run(config: ExperimentConfig, *, overwrite: bool = False) -> PreparedRun:
    """A new run of ``config``: an existing run is an error unless ``overwrite``. Writes nothing."""
    prepared = PreparedRun(config, run_directory(config), overwrite=overwrite)
    if is_main_process():
        _check_not_busy(prepared.run_dir)
        prepared.notices += _check_new_run(prepared)
        _check_writable(prepared.run_dir)
        _check_wandb(config)
    return prepared


def prepare_resume(target: Path, overrides: dict[str, Any] | None = None, *, assignments: Sequence[str] = (),
                   flag_names: dict[str, str] | None = None) -> PreparedRun:
    """Resume from a checkpoint file or a run directory (its newest readable checkpoint), with the
    run's saved settings. ``overrides`` (the command's flags, dotted keys; None: not given) and
    ``assignments`` (``--set``) may change only what resume.ALLOWED_ON_RESUME allows. `genesis
    resume` and `genesis train --resume-from-checkpoint` both come here: same run, same logs."""
    notices: list[str] = []
    path, checkpoint = newest_checkpoint(target, notices) if target.is_dir() else (target, load_checkpoint(target))
    checkpoint.require(FOR_RESUMING, path, "resume training")
    saved = checkpoint.settings()
    given = {key: value for key, value in (overrides or {}).items() if value is not None}
    for key in OUTPUT_PATHS:
        given.setdefault(key, str(ExperimentConfig.model_fields[key].default))
    requested = derive_config(saved, given, "command line", flag_names, assignments)
    config, changes = resume_config(checkpoint.config, requested)
    run_dir = path.parent  # a resumed run goes on writing next to its checkpoint
    notices = [f"resuming {path} at epoch {checkpoint.epoch}, step {checkpoint.global_step}", *notices, *changes]
    if checkpoint.optimizer_state_dict is None:
        notices.append(f"{path} holds no optimizer state (training.save_optimizer_in_best: false): the optimizer "
                       "restarts, so the steps that follow differ from an uninterrupted run")
    finished = nothing_left(checkpoint, config, run_dir)
    change = None if finished else schedule_change(checkpoint, saved, config)
    notices += [change] if change else []
    _check_not_busy(run_dir)
    _check_wandb(config)
    return PreparedRun(config, run_dir, checkpoint, path, notices, nothing_left=finished)


def run(prepared: PreparedRun, observer: TrainingObserver | None = None, *, debug: bool = False) -> str:
    """Train (or continue); returns 'completed', 'early_stopped', 'budget', or 'nothing_left' (a resumed run
    with no training left: nothing is built or written); KeyboardInterrupt propagates."""
    from genesis_cli.engine.training.trainer import Trainer

    if prepared.nothing_left is not None:
        return "nothing_left"

    try:
        return fit(prepared, Trainer(prepared.config, prepared.run_dir, observer=observer, resume=prepared.resume,
                                     resume_path=prepared.checkpoint, debug=debug))
    finally:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def fit(prepared: PreparedRun, trainer: Trainer) -> str:
    """Claim the run directory and train ``trainer`` (built from ``prepared``: data and model validated)."""
    if not is_main_process():
        return trainer.fit()
    with RunClaim(prepared.run_dir, command="genesis resume" if prepared.resume else "genesis train") as claim:
        if prepared.resume is None:
            _start_new_run(prepared, claim)
            trainer.store.on_saved = claim.commit
        write_text_atomic(prepared.run_dir / "config.yaml", dump_yaml(prepared.config.to_dict()))
        return trainer.fit()


def _start_new_run(prepared: PreparedRun, claim: RunClaim) -> None:
    """Under the lock: check again that no run arrived meanwhile, set a replaced run aside, and
    register what the new run writes (removed again if it fails before its first checkpoint)."""
    _check_new_run(prepared)
    checkpoints, records = previous_run(prepared.run_dir, prepared.tensorboard_dir)
    claim.set_aside([*checkpoints, *records])
    for name in RECORD_FILES:
        claim.will_write(prepared.run_dir, name)
    claim.will_write(prepared.tensorboard_dir, TENSORBOARD_FILES)


def schedule_change(checkpoint: RunCheckpoint, saved: ExperimentConfig, config: ExperimentConfig) -> str | None:
    """What a resume that moves a decaying schedule's end (cosine, linear: more epochs, steps or time)
    does to the learning rate, in plain words; None when the schedule is unchanged. The LR stays a pure
    function of (step, horizon) (lr_schedule.py), so a longer horizon raises it again: a warm restart."""
    t, before = config.training, saved.training
    per_epoch = int((checkpoint.scheduler_state_dict or {}).get("steps_per_epoch") or 0)
    if t.scheduler not in ("cosine", "linear") or not per_epoch or checkpoint.global_step == 0:
        return None
    old_total, new_total = before.step_horizon(per_epoch), t.step_horizon(per_epoch)
    if (old_total, before.time_budget) == (new_total, t.time_budget) or checkpoint.global_step >= new_total:
        return None
    step = checkpoint.global_step

    def used(budget: float | None) -> float:
        return checkpoint.training_seconds / budget if budget else 0.0

    stood = learning_rate(step - 1, old_total, per_epoch, before, time_fraction=used(before.time_budget))
    goes = learning_rate(step, new_total, per_epoch, t, time_fraction=used(t.time_budget))
    restart = " (a warm restart)" if goes > 1.5 * stood else ""
    return (f"the {t.scheduler} learning-rate schedule now ends at step {new_total:,} (was {old_total:,}): the "
            f"learning rate goes from {stood:.2e}, where it stood at step {step:,}, to {goes:.2e}{restart}, "
            f"then decays to 0 by the new end")
