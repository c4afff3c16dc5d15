"""The hit channel: a +-1 variable per DOM diffused with the charges and times.

With x_t = sqrt(a) h + sqrt(1 - a) eps and h in {-1, +1}, the likelihood of the noisy value alone
gives the exact posterior log-odds  s = 2 sqrt(a) x_t / (1 - a)  plus the prior's. With
``diffusion.hit_parametrization: logit`` the network predicts only that prior logit l (the log-odds
that this DOM is hit, given the event's labels and every other DOM's noisy state) and

    x0_hat(h) = E[h | x_t] = tanh((s + l) / 2),

trained by binary cross-entropy. At low noise s dominates and the estimate snaps to +-1 by
construction, so a network that has not yet learned the sign function per DOM still lands every DOM
on hit or no hit; at high noise the prior carries the decision: "which DOMs light up". This is the
exact denoiser of one bit, with the network supplying the context (a mean-field posterior).
``value`` treats h like the other channels (the network predicts eps or v; Chen et al., analog
bits, arXiv 2208.04202).

Empty DOMs have no charge or time, and with ``mask_empty_doms`` their npe/time loss is not taken.
What their npe/time channels hold still matters, because the sampler evolves those channels
everywhere and a DOM may turn into a hit late: with ``empty_dom_values: zero`` they hold 0 (and the
sampler projects the clean estimate there to 0), so a late hit starts from no charge and ends weak;
with ``impute`` every empty DOM holds the values of a random hit of the batch, so the channels
always carry a plausible hit's values and a DOM that turns into a hit refines one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def noisy_value_logit(x_t: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Posterior log-odds of h = +1 from the noisy value alone: 2 sqrt(a) x_t / (1 - a)."""
    return 2 * a.sqrt() * x_t / (1 - a)


def clean_estimate(x_t: torch.Tensor, a: torch.Tensor, prior_logit: torch.Tensor) -> torch.Tensor:
    """E[h | x_t] = tanh((s + l) / 2) for the hit channel's noisy value x_t and the network's prior logit l."""
    return torch.tanh((noisy_value_logit(x_t, a) + prior_logit) / 2)


def hit_loss(x_t: torch.Tensor, a: torch.Tensor, prior_logit: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """(B, L) binary cross-entropy of the posterior against the true hits (h0 > 0)."""
    return F.binary_cross_entropy_with_logits(noisy_value_logit(x_t, a) + prior_logit, (h0 > 0).to(x_t.dtype),
                                              reduction="none")


def impute_empty_values(x0: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, 3, L) events with the npe and time of every empty DOM (h < 0) replaced by those of a random
    hit DOM of the batch; unchanged when the batch holds no hit."""
    hit = x0[:, 2] > 0
    values = x0[:, :2].permute(0, 2, 1)[hit]  # (H, 2)
    if values.shape[0] == 0:
        return x0
    empty = ~hit
    pick = torch.randint(0, values.shape[0], (int(empty.sum()),), device=x0.device, generator=generator)
    filled = x0.clone()
    channels = filled[:, :2].permute(0, 2, 1)  # (B, L, 2) view
    channels[empty] = values[pick]
    return filled


def draw_hits(x0: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, 3, L) clean events with each DOM's hit channel drawn as +-1 from its estimate E[h] in [-1, 1]
    (P(hit) = (1 + E[h]) / 2) instead of thresholded at 0: a consistency student's last step, whose hit
    estimate is the posterior mean of the bit rather than a settled +-1 (samplers/consistency.py)."""
    h = x0[:, 2:3].float().clamp(-1.0, 1.0)
    u = torch.rand(h.shape, device=h.device, generator=generator)
    return torch.cat([x0[:, :2], torch.where(u < (1 + h) / 2, 1.0, -1.0).to(x0.dtype)], dim=1)
