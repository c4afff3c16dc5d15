"""The distill section: how ``genesis distill`` makes a few-step student from a trained run.

Consistency distillation (Song et al. 2023, arXiv:2303.01469) with the teacher's classifier-free
guidance folded into the student (Meng et al. 2023, arXiv:2210.03142; as latent consistency models
do, Luo et al. 2023, arXiv:2310.04378): one student samples in 1, 2 or 4 steps, one network pass each.
A run whose ``distill.teacher`` is set is a student; every other run is a teacher.
"""

from __future__ import annotations

from pydantic import Field

from genesis_cli.settings.base import StrictModel
from genesis_cli.settings.choices import choice

DISTILL_METHODS = ("consistency",)


class DistillConfig(StrictModel):
    """A student's distillation (genesis distill): its teacher, method, folded guidance and training defaults."""

    teacher: str | None = Field(
        None, description="The teacher checkpoint this run distils (set by genesis distill; null: not a student).")
    teacher_step: int | None = Field(None, ge=0, description="The teacher checkpoint's training step (provenance).")
    method: choice(*DISTILL_METHODS, noun="distillation method") = Field(  # type: ignore[valid-type]
        "consistency", description="consistency: consistency distillation (Song et al. 2023) on the teacher's "
                                   "probability-flow ODE, one DDIM step of the guided teacher per grid interval.")
    steps: int = Field(4, ge=1, description="The student's default sampling steps (its diffusion.sampling_steps); "
                                           "one student samples in any number of steps up to its grid.")
    guidance_scale: float = Field(
        1.0, ge=0, description="The teacher's classifier-free guidance scale folded into the student (1: the "
                               "conditional teacher alone, one pass per step).")
    learning_rate: float = Field(
        1e-4, gt=0, description="The student's peak learning rate (it starts from the teacher's weights, so it is "
                                "lower than a training run's).")
    warmup_steps: int = Field(100, ge=0, description="The student's learning-rate warm-up steps.")
    max_steps: int = Field(
        2000, gt=0, description="Distillation steps when genesis distill is given no --max-steps or --time-budget.")
    huber_c: float = Field(
        0.001, gt=0, description="The pseudo-Huber loss's c (Song & Dhariwal 2023, arXiv:2310.14189): "
                                 "sqrt(d^2 + c^2) - c per value, quadratic below c and linear above.")

    @property
    def is_student(self) -> bool:
        return self.teacher is not None
