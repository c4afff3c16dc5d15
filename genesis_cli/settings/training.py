"""The training section: optimiser, learning-rate schedule, intervals and early stopping.

Every key of the guide's training sections is here with the guide's default; the early-stopping
keys follow the guide's parameter table exactly.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from genesis_cli.settings.base import StrictModel
from genesis_cli.settings.choices import choice
from genesis_cli.settings.durations import Duration
from genesis_cli.settings.sections import Fraction

OPTIMIZERS = ("AdamW", "Adam", "SGD")
SCHEDULERS = ("cosine", "plateau", "linear", "step", "none")


class TrainingConfig(StrictModel):
    """How the network is optimised, logged, checkpointed and stopped."""

    num_epochs: int = Field(100, gt=0, description="Number of passes over the training split.")
    batch_size: int = Field(8, gt=0, description="Events per optimisation step (also data.batch_size).")
    learning_rate: float = Field(2e-4, gt=0, description="Peak learning rate.")
    weight_decay: float = Field(0.01, ge=0, description="Decoupled weight decay (L2 for SGD).")
    grad_clip_norm: float = Field(1.0, ge=0, description="Clip the gradient norm to this value; 0 disables.")
    optimizer: choice(*OPTIMIZERS, noun="optimizer") = Field(  # type: ignore[valid-type]
        "AdamW", description="AdamW, Adam or SGD.")
    scheduler: choice(*SCHEDULERS, noun="scheduler") = Field(  # type: ignore[valid-type]
        "cosine", description="Learning-rate schedule: cosine, plateau, linear, step or none.")
    warmup_steps: int = Field(1000, ge=0, description="Linear warmup length in steps, used when warmup_ratio is 0.")
    warmup_ratio: Fraction = Field(
        0.0, description="Warmup as a fraction of all training steps; when > 0 it takes precedence "
                         "over warmup_steps.")
    plateau_patience: int = Field(10, ge=0, description="plateau: evaluations without improvement before the LR drops.")
    plateau_factor: float = Field(0.5, gt=0, lt=1, description="plateau: factor applied to the LR on a plateau.")
    plateau_min_lr: float = Field(1e-6, ge=0, description="plateau: the LR never drops below this.")
    step_size: int = Field(30, gt=0, description="step: epochs between LR drops.")
    gamma: float = Field(0.1, gt=0, le=1, description="step: factor applied to the LR at each drop.")
    ema_decay: float = Field(
        0.9999, ge=0, lt=1, description="EMA decay of the weights used for sampling (warmed up as "
                                        "min(decay, (1 + step) / (10 + step))).")
    compile: bool | None = Field(
        None, description="torch.compile the model: null = on for CUDA, off on CPU; falls back to eager with a "
                          "message if compilation fails.")
    compile_mode: choice("default", "reduce-overhead", "max-autotune") = Field(  # type: ignore[valid-type]
        "default", description="torch.compile mode; reduce-overhead uses CUDA graphs (small, launch-bound batches).")
    compile_backend: str = Field("inductor", min_length=1, description="torch.compile backend.")
    use_amp: bool = Field(True, description="Mixed precision on GPUs (see amp_dtype); off on CPU.")
    amp_dtype: choice("auto", "bf16", "fp16") = Field(  # type: ignore[valid-type]
        "auto", description="Mixed-precision type: auto = bf16 where the GPU supports it, else fp16 with a gradient "
                            "scaler.")
    log_interval: int = Field(50, gt=0, description="Steps between log lines and TensorBoard points.")
    save_interval: int = Field(1000, gt=0, description="Steps between regular checkpoints.")
    eval_interval: int = Field(500, gt=0, description="Steps between validation-loss evaluations.")
    max_steps_per_epoch: int | None = Field(
        None, gt=0, description="Cap on the steps of each epoch (null: the whole training split); for debugging.")
    max_steps: int | None = Field(
        None, gt=0, description="Stop after this many optimisation steps in all (null: no limit); the LR schedule "
                                "ends there instead of at the last epoch.")
    time_budget: Duration | None = Field(
        None, description="Stop after this much training time, e.g. 30m, 90s, 1.5h or seconds (null: no limit); "
                          "the LR schedule then follows the time used, so it ends when the budget does.")
    max_eval_batches: int | None = Field(
        None, gt=0, description="Cap on the validation batches of each evaluation (null: the whole split).")
    profile_phases: bool = Field(
        False, description="Synchronise the GPU at each phase of the loop (data, forward, backward, optimizer, "
                           "logging, evaluation, checkpoint) so the time-per-phase table at the end of a run is exact; "
                           "costs the overlap it removes. Off: the table is the host's wall time.")
    keep_checkpoints: int = Field(3, gt=0, description="Regular checkpoints (model_epoch_<N>.pt) kept; older ones are deleted.")
    save_optimizer_in_best: bool = Field(
        True, description="Keep the optimizer state in model_best.pt and model_final.pt (AdamW's is twice the "
                          "model's size); false halves them, and resuming from one restarts the optimizer.")
    early_stopping: bool = Field(False, description="Stop when the monitored loss stops improving.")
    early_stopping_patience: int = Field(20, ge=0, description="Epochs to wait without improvement.")
    early_stopping_min_delta: float = Field(1e-4, ge=0, description="Minimum change to qualify as an improvement.")
    early_stopping_mode: choice("min", "max") = Field(  # type: ignore[valid-type]
        "min", description="min for a loss, max for a score.")
    early_stopping_baseline: float | None = Field(
        None, allow_inf_nan=False,
        description="Value the metric must beat before anything counts as an improvement.")
    early_stopping_restore_best: bool = Field(True, description="Restore the best weights when training ends.")
    early_stopping_verbose: bool = Field(True, description="Print early-stopping status every epoch.")

    @field_validator("scheduler", mode="before")
    @classmethod
    def _null_scheduler_is_none(cls, value: Any) -> Any:
        """YAML ``scheduler: null`` (or ``~``) means no schedule, like ``none``."""
        return "none" if value is None else value

    def step_horizon(self, steps_per_epoch: int) -> int:
        """Optimisation steps the run may take: all epochs, capped by ``max_steps``."""
        total = steps_per_epoch * self.num_epochs
        return min(total, self.max_steps) if self.max_steps is not None else total

    def effective_warmup_steps(self, total_steps: int) -> int:
        """Warmup length in steps for a run of ``total_steps`` optimisation steps.

        ``warmup_ratio > 0`` takes precedence (``round(total_steps * warmup_ratio)``); otherwise
        ``warmup_steps``. Both are capped at ``total_steps``.
        """
        if total_steps < 0:
            raise ValueError(f"total_steps must be >= 0, got {total_steps}")
        steps = round(total_steps * self.warmup_ratio) if self.warmup_ratio > 0 else self.warmup_steps
        return min(steps, total_steps)
