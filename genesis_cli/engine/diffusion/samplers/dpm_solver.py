"""DPM-Solver++(2M): second-order multistep solver of the diffusion ODE in data prediction
(Lu et al. 2022, arXiv:2211.01095, Algorithm 2), good at 10-20 steps.

With alpha_t = sqrt(a_t), sigma_t = sqrt(1 - a_t), lambda_t = log(alpha_t / sigma_t) and
h = lambda_next - lambda_t:
    x_next = (sigma_next / sigma_t) x - alpha_next (exp(-h) - 1) D,
D = x0_hat for the first step and the final step onto clean data, otherwise the second-order
combination (1 + 1/(2r)) x0_hat - 1/(2r) x0_hat_previous, r = h_previous / h. Timesteps are
evenly spaced in lambda (the paper's recommendation; see timesteps.logsnr_timesteps).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from genesis_cli.engine.diffusion.samplers.timesteps import full_like_t, logsnr_timesteps


def sample_dpm_solver(eps_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x: torch.Tensor,
                      alphas_cumprod: torch.Tensor, steps: int, *, generator: torch.Generator | None = None,
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
            x = (sigma_next / sigma) * x - alpha_next * math.expm1(-h) * d
            x0_previous, h_previous = x0, h
        if callback is not None:
            callback({"i": i, "n": len(times), "t": t, "x": x, "x0": x0})
    return x
