"""The experiment config: top-level run settings plus the model/diffusion/data/training sections."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from genesis_cli.settings.base import Seed, StrictModel
from genesis_cli.settings.distill import DistillConfig
from genesis_cli.settings.evaluation import EvaluationConfig
from genesis_cli.settings.sections import DataConfig, DiffusionConfig, ModelConfig, SamplingConfig
from genesis_cli.settings.training import TrainingConfig

_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
#: Longest run name: a directory name is at most 255 bytes on common filesystems, and W&B ids and
#: TensorBoard paths are built from it.
MAX_NAME_LENGTH = 128


class ExperimentConfig(StrictModel):
    """Everything one run needs; ``genesis_cli.load_config_from_file(path)`` returns one."""

    experiment_name: str = Field(
        "default", description="Run name; TensorBoard logs go to LOG_DIR/EXPERIMENT_NAME/.")
    description: str = Field("", description="Free text describing the run (shown by `genesis presets`).")
    seed: Seed = Field(42, description="Seed for every random number generator of a run.")
    device: str = Field("auto", description="auto (a GPU when present), cpu, cuda or cuda:N.")
    output_dir: Path = Field(Path("outputs"), description="Directory for run outputs (samples, reports).")
    checkpoint_dir: Path = Field(Path("checkpoints"), description="Directory for checkpoints.")
    log_dir: Path = Field(Path("logs"), description="Directory for TensorBoard logs.")
    use_wandb: bool = Field(False, description="Also log to Weights & Biases.")
    wandb_project: str = Field("icecube-diffusion", description="Weights & Biases project.")
    wandb_entity: str | None = Field(None, description="Weights & Biases user or team.")

    model: ModelConfig = Field(default_factory=ModelConfig)
    diffusion: DiffusionConfig = Field(default_factory=DiffusionConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    distill: DistillConfig = Field(default_factory=DistillConfig)

    @field_validator("device", mode="before")
    @classmethod
    def _known_device(cls, value: Any) -> Any:
        if isinstance(value, str) and _DEVICE.match(value.strip().lower()):
            return value.strip().lower()
        raise PydanticCustomError(
            "genesis_device", "{value} is not a device; use auto, cpu, cuda or cuda:N",
            {"value": repr(value)},
        )

    @field_validator("experiment_name")
    @classmethod
    def _usable_as_directory(cls, value: str) -> str:
        if len(value) > MAX_NAME_LENGTH:
            raise PydanticCustomError("genesis_name", "a run name of {length} characters is too long; use at most {most}",
                                      {"length": len(value), "most": MAX_NAME_LENGTH})
        if not _NAME.match(value):
            raise PydanticCustomError(
                "genesis_name",
                "{value} cannot name a run directory; use letters, digits and . _ + - "
                "(starting with a letter or digit)",
                {"value": repr(value)},
            )
        return value

    @model_validator(mode="after")
    def _quantile_charges_need_the_hit_channel(self) -> ExperimentConfig:
        if self.data.npe_transform == "quantile" and not self.diffusion.hit_channel:
            raise PydanticCustomError(
                "genesis_npe_transform",
                "quantile needs diffusion.hit_channel: true (without the hit channel a DOM's "
                "charge score also says whether it was hit); set data.npe_transform: log or turn the hit channel on",
                {"at": "data.npe_transform"})
        return self

    @model_validator(mode="after")
    def _consistency_sampling_is_a_students(self) -> ExperimentConfig:
        """Only a distilled student samples with ``consistency``, and only with it, at guidance 1 (its guidance
        is folded in): a teacher's denoiser is no consistency function, and a student's is no denoiser."""
        d, student = self.diffusion, self.distill.is_student
        if d.sampler == "consistency" and not student:
            raise PydanticCustomError(
                "genesis_sampler", "consistency samples a student made by genesis distill; this run is no student "
                "(choose ddpm, ddim, dpm-solver or dpm-solver-sde, or distil it: genesis distill RUN_DIR)",
                {"at": "diffusion.sampler"})
        if student and d.sampler != "consistency":
            raise PydanticCustomError(
                "genesis_sampler", "{sampler} cannot sample a distilled student; it samples with consistency "
                "(its steps: --steps 1, 2 or 4)", {"sampler": repr(d.sampler), "at": "diffusion.sampler"})
        if student and d.consistency_grid > d.timesteps:
            raise PydanticCustomError(
                "genesis_grid", "{grid} must be at most the diffusion's timesteps ({timesteps})",
                {"grid": d.consistency_grid, "timesteps": d.timesteps, "at": "diffusion.consistency_grid"})
        if student and d.sampling_steps > d.consistency_grid:
            raise PydanticCustomError(
                "genesis_steps", "{steps} steps: a consistency student samples in 1 to {grid} steps (its grid)",
                {"steps": d.sampling_steps, "grid": d.consistency_grid, "at": "diffusion.sampling_steps"})
        if student and d.guidance_scale != 1.0:
            raise PydanticCustomError(
                "genesis_guidance", "{scale} is not 1: this student has the teacher's guidance scale "
                "{folded} folded in (one pass per step); distil another student for another scale",
                {"scale": d.guidance_scale, "folded": self.distill.guidance_scale, "at": "diffusion.guidance_scale"})
        return self

    @model_validator(mode="after")
    def _link_batch_size(self) -> ExperimentConfig:
        """Make ``data.batch_size`` read ``training.batch_size``: one value, two names."""
        self.data._batch_size_source = self.training
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible data (paths as strings): what checkpoints and YAML dumps store."""
        return self.model_dump(mode="json")
