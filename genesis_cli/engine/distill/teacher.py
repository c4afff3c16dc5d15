"""The teacher of a distillation, and the student's settings made from it.

A student is an ordinary training run whose ``distill.teacher`` names the teacher checkpoint: the
trainer builds its objective around the frozen teacher (training/components.py), starts the student
from the teacher's EMA weights and keeps the teacher's normalisation, dark noise, data and split,
so ``genesis resume``, checkpoints, the dashboard and SIGTERM handling are training's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genesis_cli.engine.runs.checkpoint import FOR_SAMPLING, load_checkpoint
from genesis_cli.engine.runs.store import sampling_checkpoint
from genesis_cli.engine.sampling.generator import TrainedGenerator
from genesis_cli.errors import UsageError
from genesis_cli.settings import ExperimentConfig, derive_config

#: Where a student writes comes from the command (its defaults: here), never from the teacher's settings, as
#: for a new training run: the teacher may have been trained elsewhere.
WHERE_RUNS_WRITE = ("checkpoint_dir", "log_dir", "output_dir")
BENCHMARK_TEACHER = "(none: timed with untrained weights)"
EPOCHS_UNBOUNDED = 1_000_000  # a distillation ends at its step or time budget, not after the teacher's epochs
#: The diffusion settings a student shares with its teacher (besides the whole model section): the schedule
#: and the event representation.
SHARED_DIFFUSION = ("timesteps", "beta_schedule", "beta_start", "beta_end", "prediction_type", "hit_channel",
                    "hit_parametrization", "mask_empty_doms", "empty_dom_values")


def teacher_checkpoint(target: Path) -> Path:
    """The checkpoint a student distils: a file as given, a run directory's best (else its newest)."""
    if not target.exists():
        raise UsageError(f"{target}: no such run directory or checkpoint",
                         hint="pass a trained run, e.g. genesis distill checkpoints/NAME")
    return sampling_checkpoint(target)


def student_config(teacher_path: Path, values: dict[str, Any], flag_names: dict[str, str],
                   assignments: Sequence[str] = ()) -> ExperimentConfig:
    """The student's settings: the teacher's, with the distill section filled in, consistency sampling at
    guidance 1 (the teacher's guidance is folded in), the distillation's training defaults (a teacher's own
    diffusion.loss_class is not used: the student's objective is the distillation's), then the
    command's flags (``values``: dotted keys, None = not given) and ``--set`` assignments."""
    saved = load_checkpoint(teacher_path, map_location="cpu")
    saved.require(FOR_SAMPLING, teacher_path, "teach a student")
    teacher = saved.settings()
    if teacher.distill.is_student:
        raise UsageError(f"{teacher_path}: is a distilled student (of {teacher.distill.teacher}), not a teacher",
                         hint="distil its teacher instead")
    d = teacher.distill
    given = {key: value for key, value in values.items() if value is not None}
    steps = given.pop("distill.steps", d.steps)
    budgeted = {"training.max_steps", "training.time_budget"} & set(given)
    budget = {} if budgeted else {"training.max_steps": d.max_steps}
    student = {
        "distill.teacher": str(teacher_path.resolve()), "distill.teacher_step": saved.global_step, "distill.steps": steps,
        "diffusion.sampler": "consistency", "diffusion.sampling_steps": steps, "diffusion.guidance_scale": 1.0,
        "training.learning_rate": d.learning_rate, "training.warmup_steps": d.warmup_steps,
        "training.num_epochs": EPOCHS_UNBOUNDED, "training.early_stopping": False,
        "experiment_name": "student", **budget,
        **{key: str(ExperimentConfig.model_fields[key].default) for key in WHERE_RUNS_WRITE}, **given}
    return derive_config(teacher, student, "command line", flag_names, assignments)


def load_teacher(config: ExperimentConfig, device: torch.device) -> TrainedGenerator:
    """The student's teacher on ``device``, frozen, with its EMA weights; checked to fit the student."""
    path = Path(str(config.distill.teacher))
    if not path.is_file():
        raise UsageError(f"{path}: the teacher of student {config.experiment_name!r} is not there",
                         hint="a student trains and resumes with its teacher: put the checkpoint back at that path")
    teacher = TrainedGenerator.load(path, device, compile=False)
    if teacher.config.distill.is_student:
        raise UsageError(f"{path}: is a distilled student, not a teacher", hint="distil its teacher instead")
    theirs = teacher.config.model.model_dump()
    differing = [f"model.{k}" for k, v in config.model.model_dump().items() if theirs[k] != v]
    differing += [f"diffusion.{k}" for k in SHARED_DIFFUSION
                  if getattr(teacher.config.diffusion, k) != getattr(config.diffusion, k)]
    if differing:
        raise UsageError(f"{path}: the teacher's {', '.join(differing)} differ from the student's",
                         hint="a student shares its teacher's network and noise schedule: keep those settings")
    teacher.diffusion.model.requires_grad_(False)
    return teacher


def check_detector(teacher: TrainedGenerator, positions: np.ndarray, data_path: Path) -> None:
    """The student's training file must hold the teacher's detector."""
    if positions.shape != teacher.geometry.positions.shape or not np.allclose(positions, teacher.geometry.positions):
        raise UsageError(f"{data_path}: its detector differs from that of the teacher {teacher.path}",
                         hint="distil on the teacher's training file (the default) or one of the same detector")


def untrained_student(config: ExperimentConfig, steps: int) -> ExperimentConfig:
    """A student of ``config`` sampling in ``steps`` with ``config``'s guidance folded in, without a teacher
    checkpoint: what `genesis bench` times (speed does not depend on the weights)."""
    return derive_config(config, {"distill.teacher": BENCHMARK_TEACHER, "distill.steps": steps,
                                  "distill.guidance_scale": config.diffusion.guidance_scale,
                                  "diffusion.sampler": "consistency", "diffusion.sampling_steps": steps,
                                  "diffusion.guidance_scale": 1.0}, "benchmark student")
