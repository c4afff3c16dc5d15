"""DDIM (Song, Meng & Ermon 2021, arXiv:2010.02502): any number of steps, stochasticity eta.

x_prev = sqrt(a_prev) x0_hat + sqrt(1 - a_prev - sigma^2) eps_hat + sigma z, with
sigma = eta sqrt((1 - a_prev) / (1 - a_t)) sqrt(1 - a_t / a_prev); eta = 0 is deterministic and
eta = 1 on all T steps is DDPM. The last step lands on the clean estimate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from genesis_cli.engine.diffusion.samplers.timesteps import full_like_t, spaced_timesteps


def sample_ddim(eps_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x: torch.Tensor,
                alphas_cumprod: torch.Tensor, steps: int, *, eta: float = 0.0,
                generator: torch.Generator | None = None,
                callback: Callable[[dict[str, Any]], None] | None = None) -> torch.Tensor:
    ac = alphas_cumprod.double().tolist()
    times = spaced_timesteps(len(ac), steps)
    for i, t in enumerate(times):
        a_t = ac[t]
        a_prev = ac[times[i + 1]] if i + 1 < len(times) else 1.0
        eps = eps_fn(x, full_like_t(x, t))
        x0 = (x - (1 - a_t) ** 0.5 * eps) / a_t ** 0.5
        sigma = eta * ((1 - a_prev) / (1 - a_t)) ** 0.5 * (1 - a_t / a_prev) ** 0.5
        x = a_prev ** 0.5 * x0 + max(1 - a_prev - sigma ** 2, 0.0) ** 0.5 * eps
        if sigma > 0:
            x = x + sigma * torch.randn(x.shape, device=x.device, dtype=x.dtype, generator=generator)
        if callback is not None:
            callback({"i": i, "n": len(times), "t": t, "x": x, "x0": x0})
    return x
