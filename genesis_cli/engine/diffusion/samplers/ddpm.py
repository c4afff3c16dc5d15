"""DDPM ancestral sampling over all T steps (Ho, Jain & Abbeel 2020, Algorithm 2).

x_{t-1} ~ N(mu(x_t, x0_hat), beta~_t) with the posterior mean of q(x_{t-1} | x_t, x_0) and
beta~_t = beta_t (1 - a_{t-1}) / (1 - a_t). ``steps`` is accepted for the common signature; DDPM
always takes all T steps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from genesis_cli.engine.diffusion.samplers.timesteps import full_like_t


def sample_ddpm(eps_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x: torch.Tensor,
                alphas_cumprod: torch.Tensor, steps: int | None = None, *,
                generator: torch.Generator | None = None,
                callback: Callable[[dict[str, Any]], None] | None = None) -> torch.Tensor:
    total = int(alphas_cumprod.shape[0])
    ac = alphas_cumprod.double().tolist()
    for i, t in enumerate(range(total - 1, -1, -1)):
        a_t, a_prev = ac[t], (ac[t - 1] if t > 0 else 1.0)
        beta = 1.0 - a_t / a_prev
        eps = eps_fn(x, full_like_t(x, t))
        x0 = (x - (1 - a_t) ** 0.5 * eps) / a_t ** 0.5
        mean = (a_prev ** 0.5 * beta / (1 - a_t)) * x0 + ((1 - beta) ** 0.5 * (1 - a_prev) / (1 - a_t)) * x
        if t > 0:
            noise = torch.randn(x.shape, device=x.device, dtype=x.dtype, generator=generator)
            x = mean + (beta * (1 - a_prev) / (1 - a_t)) ** 0.5 * noise
        else:
            x = mean
        if callback is not None:
            callback({"i": i, "n": total, "t": t, "x": x, "x0": x0})
    return x
