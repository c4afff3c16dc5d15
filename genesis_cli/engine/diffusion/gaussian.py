"""Gaussian diffusion: forward noising, the training loss, guided denoising and sampling.

Ho, Jain & Abbeel 2020 (arXiv:2006.11239): x_t = sqrt(a_t) x_0 + sqrt(1 - a_t) eps, a_t the
cumulative product of (1 - beta). The network predicts eps (MSE against the true noise, the guide's
default) or v = sqrt(a_t) eps - sqrt(1 - a_t) x_0 (Salimans & Ho 2022). Per-timestep weights are
uniform or min-SNR-gamma (Hang et al. 2023, arXiv:2303.09556). Classifier-free guidance (Ho &
Salimans 2022): labels are dropped with probability ``cond_drop_prob`` in training, and at sampling
eps = eps_u + s (eps_c - eps_u), conditional and unconditional passes in one batch.

Subclass and override ``loss(x0_sig, geom, label)`` for a custom objective, as the guide shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genesis_cli.engine.diffusion.samplers import SAMPLERS, SamplerCallback
from genesis_cli.engine.diffusion.schedules import make_betas
from genesis_cli.settings import DiffusionConfig

EpsFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _per_sample(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """values[t] shaped (B, 1, 1) in like's dtype, for broadcasting over (B, 2, L)."""
    return values.to(like.device)[t].to(like.dtype).view(-1, *([1] * (like.dim() - 1)))


class GaussianDiffusion(nn.Module):
    """The diffusion process around a denoising model ``model(x_t, t, label, geom, drop_label)``."""

    def __init__(self, model: nn.Module, config: DiffusionConfig) -> None:
        super().__init__()
        self.model = model
        self.config = config
        betas = make_betas(config.beta_schedule, config.timesteps, config.beta_start, config.beta_end)
        alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
        self.register_buffer("alphas_cumprod", alphas_cumprod, persistent=False)  # (T,) float64

    @property
    def timesteps(self) -> int:
        return int(self.alphas_cumprod.shape[0])

    # -- forward process and targets --------------------------------------------------------------
    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Noisy x_t (B, 2, L) from clean x0 at integer timesteps t (B,)."""
        a = _per_sample(self.alphas_cumprod, t, x0)
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    def target(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if self.config.prediction_type == "eps":
            return noise
        a = _per_sample(self.alphas_cumprod, t, x0)
        return a.sqrt() * noise - (1 - a).sqrt() * x0

    def loss_weights(self, t: torch.Tensor) -> torch.Tensor:
        """(B,) per-sample weights: 1, or min(SNR, gamma) / SNR (eps) or / (SNR + 1) (v)."""
        if self.config.loss_weighting == "uniform":
            return torch.ones(t.shape[0], device=t.device)
        a = self.alphas_cumprod.to(t.device)[t]
        snr = a / (1 - a)
        clipped = torch.clamp(snr, max=self.config.min_snr_gamma)
        weights = clipped / snr if self.config.prediction_type == "eps" else clipped / (snr + 1)
        return weights.float()

    def loss(self, x0_sig: torch.Tensor, geom: torch.Tensor, label: torch.Tensor, *,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """Mean (weighted) MSE between the network's prediction and its target over a batch."""
        b = x0_sig.shape[0]
        device = x0_sig.device
        t = torch.randint(0, self.timesteps, (b,), device=device, generator=generator)
        noise = torch.randn(x0_sig.shape, device=device, dtype=x0_sig.dtype, generator=generator)
        drop = torch.rand(b, device=device, generator=generator) < self.config.cond_drop_prob
        prediction = self.model(self.q_sample(x0_sig, t, noise), t, label, geom, drop_label=drop)
        per_sample = F.mse_loss(prediction.float(), self.target(x0_sig, noise, t).float(),
                                reduction="none").flatten(1).mean(dim=1)
        return (per_sample * self.loss_weights(t)).mean()

    # -- reverse process ------------------------------------------------------------------------------
    def eps_from_output(self, x_t: torch.Tensor, t: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        """The network's output converted to a noise prediction."""
        if self.config.prediction_type == "eps":
            return output
        a = _per_sample(self.alphas_cumprod, t.long().clamp(0, self.timesteps - 1), x_t)
        return (1 - a).sqrt() * x_t + a.sqrt() * output

    def guided_eps(self, x_t: torch.Tensor, t: torch.Tensor, label: torch.Tensor, geom: torch.Tensor,
                   guidance_scale: float) -> torch.Tensor:
        """eps_u + s (eps_c - eps_u); s = 1 runs the conditional model alone, s = 0 the unconditional."""
        b = x_t.shape[0]
        if guidance_scale == 1.0 or guidance_scale == 0.0:
            drop = torch.full((b,), guidance_scale == 0.0, device=x_t.device)
            return self.eps_from_output(x_t, t, self.model(x_t, t, label, geom, drop_label=drop))
        drop = torch.cat([torch.zeros(b, dtype=torch.bool, device=x_t.device),
                          torch.ones(b, dtype=torch.bool, device=x_t.device)])
        x2, t2 = torch.cat([x_t, x_t]), torch.cat([t, t])
        geom2 = torch.cat([geom, geom]) if geom.dim() == 3 else geom
        eps = self.eps_from_output(x2, t2, self.model(x2, t2, torch.cat([label, label]), geom2, drop_label=drop))
        eps_c, eps_u = eps.chunk(2)
        return eps_u + guidance_scale * (eps_c - eps_u)

    @torch.no_grad()
    def sample(self, label: torch.Tensor, geom: torch.Tensor, n_doms: int | None = None, *,
               sampler: str | None = None, steps: int | None = None, guidance_scale: float | None = None,
               eta: float | None = None, generator: torch.Generator | None = None,
               callback: SamplerCallback | None = None) -> torch.Tensor:
        """Generate (B, 2, L) normalised events for labels (B, 6); defaults from the config."""
        config = self.config
        name = sampler or config.sampler
        if name not in SAMPLERS:
            raise ValueError(f"unknown sampler {name!r}; choose {', '.join(SAMPLERS)}")
        scale = config.guidance_scale if guidance_scale is None else guidance_scale
        length = n_doms or geom.shape[-1]
        x = torch.randn((label.shape[0], 2, length), device=label.device, generator=generator)

        def eps_fn(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return self.guided_eps(x_t, t, label, geom, scale)

        options: dict[str, Any] = {"generator": generator, "callback": callback}
        if name == "ddim":
            options["eta"] = config.ddim_eta if eta is None else eta
        return SAMPLERS[name](eps_fn, x, self.alphas_cumprod, steps or config.sampling_steps, **options)
