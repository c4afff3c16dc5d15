"""DPM-Solver++(2M), second-order multistep in data prediction (Lu et al. 2022, arXiv:2211.01095,
Algorithm 2), and its SDE variant (the same paper, section 5; k-diffusion's ``sample_dpmpp_2m_sde``,
diffusers' ``sde-dpmsolver++``), good at 10-20 steps.

With alpha_t = sqrt(a_t), sigma_t = sqrt(1 - a_t), lambda_t = log(alpha_t / sigma_t),
h = lambda_next - lambda_t and noise level eta (0: the ODE, 1: the SDE):
    x_next = (sigma_next / sigma_t) exp(-eta h) x - alpha_next expm1(-(1 + eta) h) D
             + sigma_next sqrt(-expm1(-2 eta h)) z,
D = x0_hat on the first step, otherwise the second-order (midpoint) combination
(1 + 1/(2r)) x0_hat - 1/(2r) x0_hat_previous, r = h_previous / h. The last evaluation, at t = 0,
returns x0_hat. Timesteps are evenly spaced in lambda (see timesteps.logsnr_timesteps).

Why the SDE: GENESIS data put most DOMs exactly at zero (no hit), a point mass. The deterministic
ODE carries a model's small errors there straight into weak spurious hits; the SDE's fresh noise
lets later steps correct them, as 1000-step DDPM does (docs/performance.md gives the measurement).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from genesis_cli.engine.diffusion.samplers.timesteps import full_like_t, logsnr_timesteps


def sample_dpm_solver(eps_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x: torch.Tensor,
                      alphas_cumprod: torch.Tensor, steps: int, *, eta: float = 0.0,
                      generator: torch.Generator | None = None,
                      callback: Callable[[dict[str, Any]], None] | None = None) -> torch.Tensor:
    ac = alphas_cumprod.double().tolist()
    times = logsnr_timesteps(alphas_cumprod, steps)
    x0_previous: torch.Tensor | None = None
    h_previous = 0.0
    for i, t in enumerate(times):
        alpha, sigma = ac[t] ** 0.5, (1 - ac[t]) ** 0.5
        eps = eps_fn(x, full_like_t(x, t))
        x0 = (x - sigma * eps) / alpha
        if i + 1 == len(times):  # final step onto clean data: x = D (first order)
            x = x0
        else:
            t_next = times[i + 1]
            alpha_next, sigma_next = ac[t_next] ** 0.5, (1 - ac[t_next]) ** 0.5
            h = math.log(alpha_next / sigma_next) - math.log(alpha / sigma)
            if x0_previous is None:
                d = x0
            else:
                r = h_previous / h
                d = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * x0_previous
            x = (sigma_next / sigma) * math.exp(-eta * h) * x - alpha_next * math.expm1(-(1 + eta) * h) * d
            if eta > 0:
                noise = torch.randn(x.shape, device=x.device, dtype=x.dtype, generator=generator)
                x = x + sigma_next * math.sqrt(-math.expm1(-2 * eta * h)) * noise
            x0_previous, h_previous = x0, h
        if callback is not None:
            callback({"i": i, "n": len(times), "t": t, "x": x, "x0": x0})
    return x


def sample_dpm_solver_sde(eps_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x: torch.Tensor,
                          alphas_cumprod: torch.Tensor, steps: int, *, generator: torch.Generator | None = None,
                          callback: Callable[[dict[str, Any]], None] | None = None) -> torch.Tensor:
    """DPM-Solver++(2M) SDE: the stochastic variant (eta = 1)."""
    return sample_dpm_solver(eps_fn, x, alphas_cumprod, steps, eta=1.0, generator=generator, callback=callback)
