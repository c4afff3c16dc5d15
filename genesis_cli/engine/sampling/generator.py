"""A trained checkpoint made ready to generate: model with EMA weights, diffusion, normalisation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genesis_cli.engine.data.normalization import Normalizer
from genesis_cli.engine.detector import Geometry
from genesis_cli.engine.detector.dark_noise import DarkNoise
from genesis_cli.engine.diffusion import GaussianDiffusion
from genesis_cli.engine.ema import EMA
from genesis_cli.engine.models import ModelFactory
from genesis_cli.engine.runs.checkpoint import FOR_SAMPLING, fitting, load_checkpoint
from genesis_cli.engine.runtime.compilation import CompiledDenoiser, compile_wanted
from genesis_cli.engine.runtime.device import resolve_device
from genesis_cli.engine.runtime.precision import autocast, autocast_dtype, precision_name
from genesis_cli.settings import ExperimentConfig


@dataclass
class TrainedGenerator:
    path: Path
    config: ExperimentConfig
    diffusion: GaussianDiffusion
    normalizer: Normalizer
    geometry: Geometry  # physical DOM positions
    geometry_tensor: torch.Tensor  # (3, L) normalised, on the device
    device: torch.device
    record: dict[str, Any] = field(default_factory=dict)  # the checkpoint's step, config and split (provenance)
    dark_noise: DarkNoise | None = None  # data.dark_noise: measured: added to every generated event

    @property
    def precision(self) -> str | None:
        """The autocast precision sampling runs in (None: full precision)."""
        return precision_name(autocast_dtype(self.config, self.device))

    @classmethod
    def load(cls, path: Path, device: str | None = "auto", *, compile: bool | None = None,
             on_message: Callable[[str], None] | None = None, ema: bool = True) -> TrainedGenerator:
        """Load a checkpoint and put its EMA weights in the model (what sampling should use; ``ema=False``
        keeps the raw training weights, to measure what the average does).

        ``compile`` (None: the config's sampling.compile, itself on for CUDA when null) compiles the
        denoiser (runtime/compilation.py); a compiler failure is told to ``on_message``."""
        target = resolve_device(device)
        saved = load_checkpoint(path, map_location="cpu")
        saved.require(FOR_SAMPLING, path, "generate events")
        config = saved.settings()
        positions = saved.geometry.double().numpy()
        geometry = Geometry(*positions, source=f"checkpoint {path}")
        model, diffusion = ModelFactory.create_model_and_diffusion(config.model, config.diffusion, device="cpu",
                                                                   geometry=geometry)
        average = EMA(model, config.training.ema_decay)
        fitting(path, lambda: (model.load_state_dict(saved.model_state_dict),
                               average.load_state_dict(saved.ema_state_dict)))
        if ema:
            average.copy_to(model)
        model.to(target).eval()
        diffusion = for_sampling(diffusion, config, target, compile, on_message)
        normalizer = saved.normalization(path)
        tensor = torch.from_numpy(normalizer.geometry(positions)).to(target)
        record = {"global_step": saved.global_step, "config": saved.config, "split": saved.split}
        return cls(path, config, diffusion, normalizer, geometry, tensor, target, record, saved.measured_noise())

    @torch.no_grad()
    def generate(self, labels: np.ndarray, *, sampler: str, steps: int, guidance_scale: float,
                 generator: torch.Generator) -> np.ndarray:
        """Physical events (B, 2, L) [npe, time ns] for physical labels (B, 6)."""
        normalised = torch.from_numpy(self.normalizer.labels(labels)).to(self.device)
        with autocast(self.device, autocast_dtype(self.config, self.device)):  # bf16 on GPUs, full precision on CPU
            events = self.diffusion.sample(normalised, self.geometry_tensor, sampler=sampler, steps=steps,
                                           guidance_scale=guidance_scale, generator=generator)
        physical = self.normalizer.inverse_signals(events.float().cpu().numpy(), labels, self.geometry.positions,
                                                   hit_threshold=None)
        if self.dark_noise is None:
            return physical
        seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device).item())
        return self.dark_noise.add(physical, labels, self.geometry.positions, np.random.default_rng(seed))


def for_sampling(diffusion: GaussianDiffusion, config: ExperimentConfig, device: torch.device,
                 compile: bool | None = None, on_message: Callable[[str], None] | None = None) -> GaussianDiffusion:
    """``diffusion`` on ``device``, its (eval-mode) model compiled for sampling when ``compile`` (None:
    sampling.compile; null there: on for CUDA) asks for it. `genesis bench` samples through this too."""
    s = config.sampling
    if not compile_wanted(s.compile if compile is None else compile, device):
        return diffusion.to(device)
    denoiser = CompiledDenoiser(diffusion.model, mode=s.compile_mode, backend=s.compile_backend, on_message=on_message)
    return diffusion.with_model(denoiser).to(device)
