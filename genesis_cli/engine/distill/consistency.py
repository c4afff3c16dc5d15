"""Consistency distillation of a guided teacher into a few-step student.

Song, Dhariwal, Chen & Sutskever 2023, "Consistency Models" (arXiv:2303.01469), Algorithm 2, in the
discrete form of latent consistency models (Luo et al. 2023, arXiv:2310.04378) with the teacher's
classifier-free guidance folded into the student (Meng et al. 2023, arXiv:2210.03142):

    t = j k - 1 on the grid (j uniform in 1..N, k = T / N),  s = max(t - k, 0)
    x_t    = sqrt(a_t) x0 + sqrt(1 - a_t) z                   (x0 a training event)
    eps_w  = eps_u + w (eps_c - eps_u)                        (the frozen teacher, guidance w)
    x_s    = sqrt(a_s) x0_w + sqrt(1 - a_s) eps_w             (one DDIM step of the teacher's ODE)
    loss   = d(f_theta(x_t, t), stopgrad f_theta(x_s, s))

f is the student's clean estimate with the boundary scalings of the consistency sampler
(samplers/consistency.py), so f(x, 0) = x. The target network is the student itself without
gradient (Song & Dhariwal 2023, "Improved Techniques for Training Consistency Models",
arXiv:2310.14189, found the EMA target unnecessary), and d is their pseudo-Huber distance. The
student runs conditional only: one network pass per sampling step.

GENESIS's event representation carries over unchanged: the hit channel's clean estimate is its
exact one-bit posterior (diffusion/hits.py), the clean estimate's npe and time are projected as the
teacher's sampler projects them, and the per-event loss weighs npe and time on the DOMs the target
calls hit, the hit channel on all DOMs (GaussianDiffusion.per_sample_loss), as training does.
"""

from __future__ import annotations

import torch
from torch import nn

from genesis_cli.engine.diffusion.gaussian import GaussianDiffusion, _per_sample
from genesis_cli.engine.diffusion.hits import impute_empty_values
from genesis_cli.engine.diffusion.samplers.consistency import consistency_output, grid_timesteps
from genesis_cli.settings import DiffusionConfig
from genesis_cli.settings.distill import DistillConfig


class ConsistencyDistillation(GaussianDiffusion):
    """The student's training objective around ``model`` (the student), with the frozen ``teacher``."""

    def __init__(self, model: nn.Module, config: DiffusionConfig, teacher: GaussianDiffusion,
                 distill: DistillConfig) -> None:
        super().__init__(model, config)
        self.teacher = teacher.eval().requires_grad_(False)
        self.distill = distill
        grid = grid_timesteps(self.timesteps, config.consistency_grid)  # (N,) the student's timesteps, ascending
        self.register_buffer("grid", torch.tensor(grid, dtype=torch.long, device="cpu"), persistent=False)
        self.skip = self.timesteps // config.consistency_grid

    def with_model(self, model: nn.Module) -> ConsistencyDistillation:
        return type(self)(model, self.config, self.teacher, self.distill)

    def train(self, mode: bool = True) -> ConsistencyDistillation:
        """The student follows ``mode``; the teacher stays in evaluation mode."""
        super().train(mode)
        self.teacher.eval()
        return self

    def clean(self, eps: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The clean estimate x0 of a noise prediction eps at x_t, timesteps t (B,)."""
        a = _per_sample(self.alphas_cumprod, t, x_t)
        return (x_t - (1 - a).sqrt() * eps) / a.sqrt()

    def student(self, x_t: torch.Tensor, t: torch.Tensor, label: torch.Tensor, geom: torch.Tensor) -> torch.Tensor:
        """f_theta(x_t, t) (B, C, L): the conditional student's consistency output, as the sampler computes it."""
        keep = torch.zeros(x_t.shape[0], dtype=torch.bool, device=x_t.device)
        eps = self.project(x_t, t, self.eps_from_output(x_t, t, self.model(x_t, t, label, geom, drop_label=keep)))
        return consistency_output(x_t, t, self.clean(eps.float(), x_t.float(), t))

    @torch.no_grad()
    def teacher_step(self, x_t: torch.Tensor, t: torch.Tensor, s: torch.Tensor, label: torch.Tensor,
                     geom: torch.Tensor) -> torch.Tensor:
        """x_s (B, C, L): one DDIM step (eta = 0) of the guided teacher from t to s."""
        teacher = self.teacher
        eps = teacher.project(x_t, t, teacher.guided_eps(x_t, t, label, geom, self.distill.guidance_scale)).float()
        x0 = self.clean(eps, x_t.float(), t)
        a_s = _per_sample(self.alphas_cumprod, s, x0)
        return a_s.sqrt() * x0 + (1 - a_s).sqrt() * eps

    def loss(self, x0_sig: torch.Tensor, geom: torch.Tensor, label: torch.Tensor, *,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """Mean pseudo-Huber consistency loss over a batch of training events x0_sig (B, C, L)."""
        b, device = x0_sig.shape[0], x0_sig.device
        j = torch.randint(0, self.grid.shape[0], (b,), device=device, generator=generator)
        t = self.grid.to(device)[j]
        s = (t - self.skip).clamp(min=0)
        noise = torch.randn(x0_sig.shape, device=device, dtype=x0_sig.dtype, generator=generator)
        if self.imputing:
            x0_sig = impute_empty_values(x0_sig, generator)
        x_t = self.q_sample(x0_sig, t, noise)
        x_s = self.teacher_step(x_t, t, s, label, geom).to(x_t.dtype)
        with torch.no_grad():
            target = self.student(x_s, s, label, geom).float()
        prediction = self.student(x_t, t, label, geom).float()
        c = self.distill.huber_c
        error = ((prediction - target) ** 2 + c * c).sqrt() - c
        return self.per_sample_loss(error, target).mean()
