"""Gaussian diffusion: forward noising, the training loss, guided denoising and sampling.

Ho, Jain & Abbeel 2020 (arXiv:2006.11239): x_t = sqrt(a_t) x_0 + sqrt(1 - a_t) eps, a_t the
cumulative product of (1 - beta). The network predicts eps (MSE against the true noise, the guide's
default) or v = sqrt(a_t) eps - sqrt(1 - a_t) x_0 (Salimans & Ho 2022). Per-timestep weights are
uniform or min-SNR-gamma (Hang et al. 2023, arXiv:2303.09556). Classifier-free guidance (Ho &
Salimans 2022): labels are dropped with probability ``cond_drop_prob`` in training, and at sampling
eps = eps_u + s (eps_c - eps_u), conditional and unconditional passes in one batch.

Sparse events (diffusion.hit_channel): the third channel h = +1 / -1 marks hit DOMs (Sparse Data
Diffusion, Ostheimer et al., arXiv 2502.02448). With ``mask_empty_doms`` the npe and time losses are
taken over hit DOMs only, as a mean per hit value, and the hit channel's loss over all DOMs; at
sampling the clean estimate's npe and time are projected to 0 wherever its h <= 0, so the
trajectories of empty DOMs stay what training saw (their npe/time predictions are never trained).
The hit channel itself is by default parametrised by its exact one-bit posterior (hits.py).
With ``resample_values`` sampling runs twice: the first pass decides which DOMs are hit, the
second generates npe and time for exactly that hit pattern, holding the hit channel at it (its
noise prediction is the exact noise of the known h at every step, as in inpainting by replacement:
Lugmayr et al. 2022, RePaint). A DOM that turns into a hit late in the first pass would otherwise
keep the empty DOM's projected zero charge and become a spurious weak hit.

A consistency student (engine/distill/) ends on its clean estimate at a noisy grid time, where the hit
channel's estimate is the bit's posterior mean, not yet +-1: its last step draws each DOM's bit from
it (P(hit) = (1 + E[h]) / 2), as DDPM's last ancestral step draws x_0, instead of thresholding at 0,
which lost a third of the hits on the fidelity benchmark (docs/performance.md).

Subclass and override ``loss(x0_sig, geom, label)`` for a custom objective, as the guide shows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genesis_cli.engine.diffusion.hits import clean_estimate, draw_hits, hit_loss, impute_empty_values
from genesis_cli.engine.diffusion.samplers import SAMPLERS, SamplerCallback
from genesis_cli.engine.diffusion.schedules import make_betas
from genesis_cli.settings import DiffusionConfig

EpsFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
HIT_CHANNEL = 2  # index of the hit channel h (after npe and time)


def passes_per_step(guidance_scale: float) -> int:
    """Network passes per sampling step: one for the conditional (1) or unconditional (0) model alone, two
    (conditional and unconditional, in one batch) for any other guidance scale."""
    return 1 if guidance_scale in (0.0, 1.0) else 2


def _per_sample(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """values[t] shaped (B, 1, 1) in like's dtype, for broadcasting over (B, C, L)."""
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

    def with_model(self, model: nn.Module) -> GaussianDiffusion:
        """The same diffusion around another network: a compiled or DDP-wrapped ``model`` (subclasses that
        hold more than the config, such as a distillation's teacher, carry it over)."""
        return type(self)(model, self.config)

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
        if self.imputing:
            x0_sig = impute_empty_values(x0_sig, generator)
        x_t = self.q_sample(x0_sig, t, noise)
        prediction = self.model(x_t, t, label, geom, drop_label=drop).float()
        error = F.mse_loss(prediction, self.target(x0_sig, noise, t).float(), reduction="none")
        if self.hit_logits:  # the hit channel's term is the cross-entropy of its posterior
            a = _per_sample(self.alphas_cumprod, t, x_t).float()[:, :, 0]  # (B, 1)
            error = torch.cat([error[:, :HIT_CHANNEL], hit_loss(x_t[:, HIT_CHANNEL].float(), a,
                                                                prediction[:, HIT_CHANNEL], x0_sig[:, HIT_CHANNEL])[:, None]], dim=1)
        return (self.per_sample_loss(error, x0_sig) * self.loss_weights(t)).mean()

    def per_sample_loss(self, error: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        """(B, C, L) per-element losses -> (B,). Without the hit channel: the mean. With it: the hit channel's
        mean over all DOMs plus npe and time, as a mean over all DOMs or, with masking, over hit DOMs only
        (per hit value, counting the batch's mean hits per event)."""
        if not self.config.hit_channel:
            return error.flatten(1).mean(dim=1)
        values = error[:, :HIT_CHANNEL]
        if not self.masked:
            return error[:, HIT_CHANNEL].mean(dim=1) + values.flatten(1).mean(dim=1)
        hit = (x0[:, HIT_CHANNEL] > 0).float()  # (B, L)
        count = HIT_CHANNEL * hit.sum(dim=1).mean().clamp(min=1.0)  # npe and time values per event
        return error[:, HIT_CHANNEL].mean(dim=1) + (values * hit[:, None]).sum(dim=(1, 2)) / count

    @property
    def hit_logits(self) -> bool:
        """Whether the network's hit channel is the prior logit of hits.py (else a value like the others)."""
        return bool(self.config.hit_channel and self.config.hit_parametrization == "logit")

    @property
    def masked(self) -> bool:
        return bool(self.config.hit_channel and self.config.mask_empty_doms)

    @property
    def imputing(self) -> bool:
        return self.masked and self.config.empty_dom_values == "impute"

    def project(self, x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """With masking and zero empty values: the noise prediction whose clean estimate has npe and time 0
        where its h <= 0 (imputed empty values need no projection: any value is one training saw)."""
        if not self.masked or self.imputing:
            return eps
        a = _per_sample(self.alphas_cumprod, t.long().clamp(0, self.timesteps - 1), x_t)
        x0 = (x_t - (1 - a).sqrt() * eps) / a.sqrt()
        empty = x0[:, HIT_CHANNEL:HIT_CHANNEL + 1] <= 0
        x0 = torch.cat([torch.where(empty, torch.zeros_like(x0[:, :HIT_CHANNEL]), x0[:, :HIT_CHANNEL]),
                        x0[:, HIT_CHANNEL:]], dim=1)
        return (x_t - a.sqrt() * x0) / (1 - a).sqrt()

    # -- reverse process ------------------------------------------------------------------------------
    def eps_from_output(self, x_t: torch.Tensor, t: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        """The network's output converted to a noise prediction (the hit channel's from its clean estimate)."""
        a = _per_sample(self.alphas_cumprod, t.long().clamp(0, self.timesteps - 1), x_t)
        eps = output if self.config.prediction_type == "eps" else (1 - a).sqrt() * x_t + a.sqrt() * output
        if not self.hit_logits:
            return eps
        h_t = x_t[:, HIT_CHANNEL:].float()
        h0 = clean_estimate(h_t, a.float(), output[:, HIT_CHANNEL:].float())
        eps_h = ((h_t - a.sqrt() * h0) / (1 - a).sqrt()).to(eps.dtype)
        return torch.cat([eps[:, :HIT_CHANNEL], eps_h], dim=1)

    def guided_eps(self, x_t: torch.Tensor, t: torch.Tensor, label: torch.Tensor, geom: torch.Tensor,
                   guidance_scale: float) -> torch.Tensor:
        """eps_u + s (eps_c - eps_u); s = 1 runs the conditional model alone, s = 0 the unconditional."""
        b = x_t.shape[0]
        if passes_per_step(guidance_scale) == 1:
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
        """Generate (B, C, L) normalised events for labels (B, 6); defaults from the config."""
        config = self.config
        name = sampler or config.sampler
        if name not in SAMPLERS:
            raise ValueError(f"unknown sampler {name!r}; choose {', '.join(SAMPLERS)}")
        scale = config.guidance_scale if guidance_scale is None else guidance_scale
        length = n_doms or geom.shape[-1]
        x = torch.randn((label.shape[0], config.event_channels, length), device=label.device, generator=generator)

        def eps_fn(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return self.project(x_t, t, self.guided_eps(x_t, t, label, geom, scale))

        options: dict[str, Any] = {"generator": generator, "callback": callback}
        if name == "ddim":
            options["eta"] = config.ddim_eta if eta is None else eta
        if name == "consistency":
            options["grid"] = config.consistency_grid
        run = functools.partial(SAMPLERS[name], alphas_cumprod=self.alphas_cumprod, steps=steps or config.sampling_steps,
                                **options)
        x = run(eps_fn, x)
        if name == "consistency" and self.hit_logits:  # the student's last estimate: the bit's posterior mean
            x = draw_hits(x, generator)
        if not (config.hit_channel and config.resample_values):
            return x
        # Second pass: the hit pattern is now known; generate npe and time for exactly these hits.
        hits = torch.where(x[:, HIT_CHANNEL:] > 0, 1.0, -1.0).to(x.dtype)

        def given_hits(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            eps = self.guided_eps(x_t, t, label, geom, scale)
            a = _per_sample(self.alphas_cumprod, t.long().clamp(0, self.timesteps - 1), x_t)
            eps_h = (x_t[:, HIT_CHANNEL:] - a.sqrt() * hits) / (1 - a).sqrt()  # the noise of the known h
            return self.project(x_t, t, torch.cat([eps[:, :HIT_CHANNEL], eps_h], dim=1))

        x = run(given_hits, torch.randn(x.shape, device=x.device, dtype=x.dtype, generator=generator))
        return torch.cat([x[:, :HIT_CHANNEL], hits], dim=1)
