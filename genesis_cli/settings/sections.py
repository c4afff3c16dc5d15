"""The model, diffusion and data sections of an experiment config.

Defaults here are the single source of truth: they equal the guide's documented defaults and the
``default`` preset (DiT, 512 hidden, 8 layers, 8 heads). The training section lives in
:mod:`genesis_cli.settings.training`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, PrivateAttr, field_validator, model_validator
from pydantic_core import PydanticCustomError

from genesis_cli.settings.base import Seed, StrictModel
from genesis_cli.settings.choices import choice

ARCHITECTURES = ("dit", "cnn", "mlp", "hybrid", "resnet")
#: DOMs per patch along a string when model.patch_size is null: a whole string per token for the
#: DiT (one token per string is ~125x cheaper than one per DOM on an H100 at equal width), four DOMs
#: per position for the convolutional models, one DOM per position for the per-DOM MLP.
DEFAULT_PATCH_SIZE: dict[str, int | str] = {"dit": "string", "hybrid": 4, "cnn": 4, "resnet": 4, "mlp": 1}
SAMPLERS = ("ddpm", "ddim", "dpm-solver", "dpm-solver-sde", "consistency")
#: Architectures with multi-head attention, for which ``heads`` must divide ``hidden``.
ATTENTION_ARCHITECTURES = frozenset({"dit", "hybrid"})
#: Tolerance of the train/val/test ratio sum (ratios such as 0.7/0.15/0.15 are inexact in binary).
RATIO_SUM_TOLERANCE = 1e-6


def _odd(value: int) -> int:
    if value % 2 == 0:
        raise PydanticCustomError(
            "genesis_odd", "{value} must be odd, so a convolution keeps the string's length",
            {"value": value},
        )
    return value


OddKernel = Annotated[int, Field(gt=0), AfterValidator(_odd)]
Fraction = Annotated[float, Field(ge=0.0, lt=1.0)]


class ModelConfig(StrictModel):
    """Network architecture and size. Keys an architecture does not use are ignored by it."""

    architecture: choice(*ARCHITECTURES, noun="architecture") = Field(  # type: ignore[valid-type]
        "dit", description="Network family: dit, cnn, mlp, hybrid or resnet.")
    hidden: int = Field(512, gt=0, description="Width of the hidden representation.")
    depth: int = Field(8, gt=0, description="Number of blocks (layers).")
    heads: int = Field(8, gt=0, description="Attention heads (dit, hybrid); must divide hidden.")
    fusion: choice("FiLM", "SUM") = Field(  # type: ignore[valid-type]
        "FiLM", description="How the condition enters the network: FiLM (scale and shift) or SUM.")
    mlp_ratio: float = Field(4.0, gt=0, description="Feed-forward width as a multiple of hidden.")
    kernel_sizes: list[OddKernel] = Field(
        [3, 5, 7, 9], min_length=1,
        description="Multi-scale convolution kernels along strings (cnn); odd sizes.")
    kernel_size: OddKernel = Field(3, description="Convolution kernel along strings (hybrid, resnet); odd.")
    dropout: Fraction = Field(0.0, description="Dropout probability in [0, 1).")
    patch_size: int | Literal["string"] | None = Field(
        None, description="DOMs per token/position along a string: an integer, 'string' (a whole "
                          "string), or null for the architecture's default (dit: string, cnn/resnet/"
                          "hybrid: 4, mlp: 1).")
    neighbour_strings: int = Field(
        6, ge=0, description="Nearest strings whose features each string mixes in (cnn, resnet).")
    dom_conditioning: bool = Field(
        True, description="Give every DOM features relating it to the event's labels: distance to the vertex, angle "
                          "to the direction, distances along and from the track, the track's direct-light delay.")
    dom_head: int = Field(
        32, ge=0, description="Width of the per-DOM output MLP shared by all DOMs (it sees each DOM's own features "
                              "and label-relative features beside the network's context); 0: a linear head.")
    gradient_checkpointing: bool = Field(
        False, description="Recompute block activations in the backward pass: less memory, ~30% more compute "
                           "(for models that do not fit).")

    @field_validator("patch_size")
    @classmethod
    def _positive_patch(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, int) and value < 1:
            raise PydanticCustomError("genesis_patch", "{value} must be >= 1, 'string' or null",
                                      {"value": value})
        return value

    def resolved_patch_size(self) -> int | str:
        """The patch size in force: the configured one or the architecture's default."""
        return self.patch_size if self.patch_size is not None else DEFAULT_PATCH_SIZE[self.architecture]

    @model_validator(mode="after")
    def _heads_divide_hidden(self) -> ModelConfig:
        if self.architecture in ATTENTION_ARCHITECTURES and self.hidden % self.heads:
            raise PydanticCustomError(
                "genesis_heads", "{heads} must divide hidden ({hidden}) for the {arch} architecture",
                {"heads": self.heads, "hidden": self.hidden, "arch": self.architecture, "at": "heads"},
            )
        return self


class DiffusionConfig(StrictModel):
    """Gaussian diffusion (Ho et al. 2020, arXiv:2006.11239): noise schedule and training target."""

    timesteps: int = Field(1000, gt=0, description="Number of diffusion steps T.")
    beta_schedule: choice("linear", "cosine", noun="beta schedule") = Field(  # type: ignore[valid-type]
        "linear",
        description="Noise schedule: linear (Ho et al. 2020) or cosine (Nichol & Dhariwal 2021).")
    beta_start: float = Field(1e-4, gt=0, lt=1, description="First beta of the linear schedule.")
    beta_end: float = Field(0.02, gt=0, lt=1, description="Last beta of the linear schedule.")
    prediction_type: choice("eps", "v") = Field(  # type: ignore[valid-type]
        "v", description="What the network predicts: v (Salimans & Ho 2022; the default, stable with few-step "
                         "samplers) or eps (the noise, MSE on it, as the original GENESIS).")
    loss_weighting: choice("uniform", "min_snr") = Field(  # type: ignore[valid-type]
        "uniform", description="Per-timestep loss weight: uniform or min_snr (Hang et al. 2023).")
    min_snr_gamma: float = Field(5.0, gt=0, description="gamma of min-SNR weighting.")
    cond_drop_prob: Fraction = Field(
        0.1, description="Training: probability of replacing the label by the learned null embedding "
                         "(classifier-free guidance).")
    hit_channel: bool = Field(
        True, description="Diffuse a third per-DOM channel h = +1 (hit) / -1 (no hit) with npe and time and write "
                          "exact no-hit values where the generated h < 0 (Sparse Data Diffusion); false: decide hits "
                          "by thresholding the generated npe (the original representation).")
    mask_empty_doms: bool = Field(
        True, description="With the hit channel: train npe and time on hit DOMs only (the hit channel on all DOMs), "
                          "and at sampling project the clean estimate's npe and time to 0 where its h < 0.")
    empty_dom_values: choice("impute", "zero") = Field(  # type: ignore[valid-type]
        "impute", description="With masking: what npe/time empty DOMs carry in training: impute (those of a random hit "
                              "of the batch, so a DOM that turns into a hit while sampling refines a plausible "
                              "charge) or zero (and the sampler projects them to 0).")
    resample_values: bool = Field(
        False, description="With the hit channel: sample twice, the second pass generating npe and time for the hit "
                           "pattern the first pass decided (twice the sampling cost; measured worse on the fidelity "
                           "benchmark: it narrows the early noise hits).")
    hit_parametrization: choice("logit", "value") = Field(  # type: ignore[valid-type]
        "logit", description="What the network predicts for the hit channel: logit (the prior log-odds of a hit; the "
                             "clean estimate is the exact one-bit posterior tanh((2 sqrt(a) x_t / (1 - a) + logit) / 2), "
                             "trained by cross-entropy) or value (eps or v, like npe and time).")
    sampler: choice(*SAMPLERS, noun="sampler") = Field(  # type: ignore[valid-type]
        "dpm-solver-sde", description="Default sampler: ddpm (all T steps), ddim, dpm-solver (DPM-Solver++ 2M, "
                                      "deterministic), dpm-solver-sde (its stochastic variant; matches 1000-step "
                                      "DDPM at 20 steps) or consistency (multistep consistency sampling: a student "
                                      "made by genesis distill, and only such a student).")
    sampling_steps: int = Field(20, gt=0, description="Steps of ddim, dpm-solver, dpm-solver-sde and consistency.")
    consistency_grid: int = Field(
        10, gt=1, description="Timesteps of a consistency student's grid (T / this apart): genesis distill trains on "
                              "it and the consistency sampler steps on it (10: measured closer to the teacher than "
                              "latent consistency models' 50, docs/performance.md).")
    guidance_scale: float = Field(
        1.0, ge=0, description="Classifier-free guidance scale at sampling (1: conditional model only).")
    ddim_eta: float = Field(0.0, ge=0, le=1, description="DDIM stochasticity (0: deterministic).")
    loss_class: Annotated[str, Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")] | None = Field(
        None, description="A GaussianDiffusion subclass that genesis train uses for its loss, as module:Class "
                          "(the guide's Custom Loss; e.g. mypkg.losses:CustomDiffusion); null: GaussianDiffusion.")

    @property
    def event_channels(self) -> int:
        """Channels per DOM the model diffuses: npe, time and, with the hit channel, h."""
        return 3 if self.hit_channel else 2

    @model_validator(mode="after")
    def _betas_increase(self) -> DiffusionConfig:
        if self.beta_start >= self.beta_end:
            raise PydanticCustomError(
                "genesis_betas", "{start} must be smaller than beta_end ({end})",
                {"start": self.beta_start, "end": self.beta_end, "at": "beta_start"},
            )
        return self


class SamplingConfig(StrictModel):
    """How `genesis sample` (and compare, demo, the benchmarks) generate events. Which sampler, how many
    steps and how much guidance are the diffusion section's sampler, sampling_steps and guidance_scale."""

    batch_size: int = Field(256, gt=0, description="Events generated at once (memory grows with it).")
    seed: Seed = Field(0, description="Seed of the sampling noise (and of labels drawn from ranges).")
    compile: bool | None = Field(
        None, description="torch.compile the denoiser for sampling: null = on for CUDA, off on CPU; falls back to "
                          "eager with a message if compilation fails (the events are the same either way).")
    compile_mode: choice("default", "reduce-overhead", "max-autotune") = Field(  # type: ignore[valid-type]
        "reduce-overhead", description="torch.compile mode for sampling; reduce-overhead replays the denoiser as "
                                       "CUDA graphs at each batch size (sampling is launch-bound).")
    compile_backend: str = Field("inductor", min_length=1, description="torch.compile backend for sampling.")


class DataConfig(StrictModel):
    """Event file and how it is split and preprocessed.

    ``batch_size`` is readable here too (the guide's Advanced Usage reads
    ``config.data.batch_size``) but it is one value with ``training.batch_size``: the experiment
    config links the two, and a file may set either key.
    """

    h5_path: Path | None = Field(None, description="HDF5 event file; relative paths are relative "
                                                   "to the working directory.")
    train_ratio: float = Field(0.8, gt=0, le=1, description="Share of events for training.")
    val_ratio: Fraction = Field(0.1, description="Share of events for validation (0: none).")
    test_ratio: Fraction = Field(0.1, description="Share of events held out for evaluation.")
    replace_time_inf_with: float = Field(
        0.0, allow_inf_nan=False, description="Value that replaces inf/-inf/NaN hit times.")
    num_workers: int = Field(0, ge=0, description="Data-loader worker processes (0: main process).")
    time_origin: choice("vertex", "file", "first_hit") = Field(  # type: ignore[valid-type]
        "vertex", description="What hit times are measured from: vertex (the labelled vertex's direct light, "
                              "t - d / c_ice, so prompt light sits at 0 on every DOM), file (the training split's "
                              "earliest hit) or first_hit (each event's first hit; loses absolute time).")
    time_scale_ns: float = Field(
        30.0, gt=0, allow_inf_nan=False,
        description="Hit times enter the model as sign(u) log1p(|u| / time_scale_ns), u measured from time_origin: "
                    "linear (ns-resolving) within about this many ns of the origin (the light onset, for vertex), "
                    "logarithmic beyond.")
    npe_transform: choice("log", "quantile") = Field(  # type: ignore[valid-type]
        "log", description="How hit charges enter the model: log (log1p(npe), standardised over hits) or quantile "
                           "(mapped onto a standard normal through the training hits' distribution, so the "
                           "single-photoelectron peak and saturated charges are resolved and generated charges "
                           "stay within the training range; needs diffusion.hit_channel).")
    time_transform: choice("symlog", "quantile") = Field(  # type: ignore[valid-type]
        "symlog", description="How hit times enter the model: symlog (sign(u) log1p(|u| / time_scale_ns), "
                              "standardised) or quantile (u mapped onto a standard normal through the training "
                              "hits' distribution, mixed with the symlog's by time_quantile_floor).")
    time_quantile_floor: float = Field(
        0.5, ge=0, lt=1, allow_inf_nan=False,
        description="time_transform: quantile only: the weight of the symlog transform in the map's distribution, "
                    "so times where few training hits lie (the ns before the prompt light) keep part of its "
                    "resolution (0: the hits' quantiles alone).")
    align_time: bool = Field(
        False, description="Older spelling of time_origin: first_hit (true overrides time_origin).")
    memory_budget_gb: float | None = Field(
        None, gt=0, description="Hold a split in memory when it fits this many GB (null: half the "
                                "machine's RAM); larger splits stream from the file.")
    shuffle_buffer_events: int = Field(
        4096, gt=0, description="Streaming only: events mixed in the shuffle buffer.")
    normalization_events: int = Field(
        20_000, gt=0, description="Training events sampled to fit the normalisation statistics.")
    dark_noise: choice("learned", "measured") = Field(  # type: ignore[valid-type]
        "learned", description="learned: the network learns the detector's dark noise with the light. measured: "
                               "the noise is measured from the training events (rate per DOM type, window, "
                               "charges), the targets lose the hits before any light could arrive, and "
                               "sampling adds noise hits there as the detector makes them.")

    _batch_size_source: Any = PrivateAttr(default=None)

    @property
    def resolved_time_origin(self) -> str:
        """The time origin in force (align_time: true means first_hit)."""
        return "first_hit" if self.align_time else self.time_origin

    @property
    def batch_size(self) -> int:
        """The training batch size (the same value as ``training.batch_size``)."""
        if self._batch_size_source is None:
            raise AttributeError("data.batch_size is available on a full ExperimentConfig only")
        return int(self._batch_size_source.batch_size)

    @model_validator(mode="after")
    def _ratios_sum_to_one(self) -> DataConfig:
        total = self.train_ratio + self.val_ratio + self.test_ratio
        if not math.isclose(total, 1.0, abs_tol=RATIO_SUM_TOLERANCE):
            raise PydanticCustomError(
                "genesis_ratios",
                "train_ratio + val_ratio + test_ratio must be 1 (got {a} + {b} + {c} = {total})",
                {"a": self.train_ratio, "b": self.val_ratio, "c": self.test_ratio,
                 "total": f"{total:g}"},
            )
        return self
