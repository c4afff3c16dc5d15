"""Noise schedules: beta_t for t = 0 .. T-1, as float64 CPU tensors (the diffusion registers them as a
buffer, which moves with the module to its device).

- linear: Ho, Jain & Abbeel 2020 (arXiv:2006.11239), betas from beta_start to beta_end.
- cosine: Nichol & Dhariwal 2021 (arXiv:2102.09672), alpha_bar(t) = cos^2((t/T + s)/(1 + s) pi/2),
  s = 0.008, betas clipped at 0.999.
An unknown name is an error, never a silent fallback (the original scripts fell back to linear).
"""

from __future__ import annotations

import math

import torch

COSINE_OFFSET = 0.008
MAX_BETA = 0.999


def linear_betas(timesteps: int, beta_start: float, beta_end: float) -> torch.Tensor:
    return torch.linspace(beta_start, beta_end, timesteps, dtype=torch.float64, device="cpu")


def cosine_betas(timesteps: int) -> torch.Tensor:
    steps = torch.arange(timesteps + 1, dtype=torch.float64, device="cpu") / timesteps
    alpha_bar = torch.cos((steps + COSINE_OFFSET) / (1 + COSINE_OFFSET) * math.pi / 2) ** 2
    return torch.clamp(1 - alpha_bar[1:] / alpha_bar[:-1], max=MAX_BETA)


def make_betas(name: str, timesteps: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """The named schedule's (T,) betas."""
    if name == "linear":
        return linear_betas(timesteps, beta_start, beta_end)
    if name == "cosine":
        return cosine_betas(timesteps)
    raise ValueError(f"unknown beta schedule {name!r}; choose linear or cosine")
