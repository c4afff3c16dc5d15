"""Samplers: one algorithm per file, one signature.

    sample(eps_fn, x_T, alphas_cumprod, steps, *, generator=None, callback=None, **options) -> x_0

``eps_fn(x_t, t)`` returns the (guided) noise prediction for x_t (B, 2, L) at timesteps t (B,);
``alphas_cumprod`` (T,) is the diffusion's schedule; ``callback`` receives a dict with the step
index ``i``, the number of steps ``n``, the timestep ``t``, the current ``x`` and the model's clean
estimate ``x0`` after every step (for progress bars), in the style of k-diffusion.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from genesis_cli.engine.diffusion.samplers.consistency import sample_consistency
from genesis_cli.engine.diffusion.samplers.ddim import sample_ddim
from genesis_cli.engine.diffusion.samplers.ddpm import sample_ddpm
from genesis_cli.engine.diffusion.samplers.dpm_solver import sample_dpm_solver, sample_dpm_solver_sde

SamplerCallback = Callable[[dict[str, Any]], None]
SAMPLERS: dict[str, Callable[..., torch.Tensor]] = {
    "ddpm": sample_ddpm,
    "ddim": sample_ddim,
    "dpm-solver": sample_dpm_solver,
    "dpm-solver-sde": sample_dpm_solver_sde,
    "consistency": sample_consistency,  # a distilled student's (engine/distill/)
}

__all__ = ["SAMPLERS", "SamplerCallback", "sample_consistency", "sample_ddim", "sample_ddpm", "sample_dpm_solver", "sample_dpm_solver_sde"]
