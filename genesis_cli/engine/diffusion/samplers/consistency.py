"""Multistep consistency sampling (Song et al. 2023, arXiv:2303.01469, Algorithm 1) on a student's grid.

A consistency student f(x_t, t) maps any point of the teacher's probability-flow ODE trajectory to
its clean end. One step: x0 = f(x_T, T). More steps alternate: re-noise x0 to the next, lower
timestep with fresh noise, x_t = sqrt(a_t) x0 + sqrt(1 - a_t) z, and map it back with f. The student
is trained only on its grid (genesis distill: ``diffusion.consistency_grid`` timesteps k = T / grid
apart, k - 1, 2k - 1, ..., T - 1), so the steps are taken on it, spread as latent consistency models
do (Luo et al. 2023, arXiv:2310.04378): 4 steps of the default 10-point grid of T = 1000 are
t = 999, 799, 599, 399; 2 steps 999, 499; 1 step 999 (of LCM's 50-point grid: 999, 759, 519, 279).

f is parametrised with the boundary condition f(x, 0) = x (Song et al. 2023, eq. 7, LCM's discrete
scalings): f = c_skip(t) x_t + c_out(t) x0_hat(x_t, t), c_skip = sd^2 / ((s t)^2 + sd^2),
c_out = s t / sqrt((s t)^2 + sd^2), sd = 0.5, s = 10. ``eps_fn`` returns the network's noise
prediction; x0_hat follows from it as in every sampler here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from genesis_cli.engine.diffusion.samplers.timesteps import full_like_t

SIGMA_DATA = 0.5  # LCM's sigma_data of the boundary scalings
TIMESTEP_SCALING = 10.0  # LCM's timestep_scaling: c_skip(t) < 1e-5 from the grid's first point on


def boundary_scalings(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(c_skip, c_out) at integer timesteps t (any shape): (1, 0) at t = 0, (~0, ~1) from t = 19 on."""
    scaled = t.double() * TIMESTEP_SCALING
    c_skip = SIGMA_DATA ** 2 / (scaled ** 2 + SIGMA_DATA ** 2)
    c_out = scaled / (scaled ** 2 + SIGMA_DATA ** 2).sqrt()
    return c_skip, c_out


def consistency_output(x_t: torch.Tensor, t: torch.Tensor, x0_hat: torch.Tensor) -> torch.Tensor:
    """f(x_t, t) = c_skip x_t + c_out x0_hat for x_t, x0_hat (B, C, L) at timesteps t (B,)."""
    c_skip, c_out = boundary_scalings(t)
    shape = (-1, *([1] * (x_t.dim() - 1)))
    return (c_skip.view(shape).to(x_t.dtype) * x_t + c_out.view(shape).to(x_t.dtype) * x0_hat).to(x0_hat.dtype)


def grid_timesteps(total: int, grid: int) -> list[int]:
    """The student's grid, ascending: k - 1, 2k - 1, ..., grid k - 1 with k = total // grid."""
    if not 1 < grid <= total:
        raise ValueError(f"the consistency grid must hold 2 to {total} timesteps, got {grid}")
    skip = total // grid
    return [j * skip - 1 for j in range(1, grid + 1)]


def sampling_timesteps(total: int, grid: int, steps: int) -> list[int]:
    """``steps`` timesteps of the grid, from its top down, grid // steps points apart (LCM's spacing)."""
    points = grid_timesteps(total, grid)
    if not 1 <= steps <= grid:
        raise ValueError(f"a consistency student samples in 1 to {grid} steps (its grid), got {steps}")
    return points[::-1][::grid // steps][:steps]


def sample_consistency(eps_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x: torch.Tensor,
                       alphas_cumprod: torch.Tensor, steps: int, *, grid: int = 10,
                       generator: torch.Generator | None = None,
                       callback: Callable[[dict[str, Any]], None] | None = None) -> torch.Tensor:
    ac = alphas_cumprod.double().tolist()
    times = sampling_timesteps(len(ac), grid, steps)
    for i, t in enumerate(times):
        a_t = ac[t]
        t_batch = full_like_t(x, t)
        eps = eps_fn(x, t_batch)
        x0 = consistency_output(x, t_batch, (x - (1 - a_t) ** 0.5 * eps) / a_t ** 0.5)
        if i + 1 < len(times):
            a_next = ac[times[i + 1]]
            noise = torch.randn(x.shape, device=x.device, dtype=x.dtype, generator=generator)
            x = a_next ** 0.5 * x0 + (1 - a_next) ** 0.5 * noise
        else:
            x = x0
        if callback is not None:
            callback({"i": i, "n": len(times), "t": t, "x": x, "x0": x0})
    return x
