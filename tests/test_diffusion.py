"""Diffusion core: schedules (golden values), targets, weighting, guidance, samplers.

Samplers are tested where the optimal denoiser is known in closed form: Gaussian data x0 ~ N(mu, S).
With x_t = sqrt(a) x0 + sqrt(1-a) eps, C = a S + (1-a) I:
    E[eps | x_t] = sqrt(1-a) C^-1 (x_t - sqrt(a) mu),
so every sampler must reproduce N(mu, S) up to its discretisation error.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from genesis_cli import GaussianDiffusion
from genesis_cli.engine.diffusion.samplers import SAMPLERS
from genesis_cli.engine.diffusion.schedules import make_betas
from genesis_cli.settings import resolve_config

GOLDEN = {  # name: beta[0], beta[499], beta[-1], a[0], a[499], a[-1] for T = 1000
    "linear": (1.0e-04, 1.0040040040e-02, 2.0e-02, 9.999e-01, 7.8587242882e-02, 4.0358297654e-05),
    "cosine": (4.1284224822e-05, 3.1458862305e-03, 9.99e-01, 9.9995871578e-01, 4.9384359044e-01, 2.4287669070e-09),
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_schedule_golden_values(name: str) -> None:
    betas = make_betas(name, 1000)
    ac = torch.cumprod(1 - betas, 0)
    got = (betas[0], betas[499], betas[-1], ac[0], ac[499], ac[-1])
    for value, expected in zip(got, GOLDEN[name]):
        assert math.isclose(float(value), expected, rel_tol=1e-8)


def test_unknown_schedule_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown beta schedule 'sigmoid'"):
        make_betas("sigmoid", 10)


#: The sampler tests diffuse plain two-channel data (no hit channel): the samplers do not depend on it.
PLAIN = ["diffusion.prediction_type=eps", "diffusion.hit_channel=false"]


def diffusion_with(model: nn.Module, *overrides: str) -> GaussianDiffusion:
    """A diffusion around ``model``; eps prediction and no hit channel unless the overrides say otherwise."""
    return GaussianDiffusion(model, resolve_config(overrides=[*PLAIN, *overrides]).config.diffusion)


class GaussianOptimalDenoiser(nn.Module):
    """The exact E[eps | x_t] for data N(mu, S) in D = 2 * L dimensions; ignores labels."""

    def __init__(self, mu: torch.Tensor, cov: torch.Tensor, alphas_cumprod: torch.Tensor) -> None:
        super().__init__()
        self.mu, self.cov, self.ac = mu.double(), cov.double(), alphas_cumprod.double()

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, label: torch.Tensor, geom: torch.Tensor,
                drop_label: torch.Tensor | None = None) -> torch.Tensor:
        a = self.ac[t.long()][:, None, None]  # (B, 1, 1)
        eye = torch.eye(len(self.mu), dtype=torch.float64)
        c = a * self.cov + (1 - a) * eye
        centred = x_t.flatten(1).double() - a[:, :, 0].sqrt() * self.mu
        eps = (1 - a[:, :, 0]).sqrt() * torch.linalg.solve(c, centred.unsqueeze(-1)).squeeze(-1)
        return eps.reshape(x_t.shape).to(x_t.dtype)


@pytest.fixture(scope="module")
def gaussian() -> tuple[GaussianDiffusion, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    mu = torch.tensor([1.0, -0.5, 0.3, 0.8])
    a = torch.randn(4, 4, generator=g) * 0.4
    cov = a @ a.T + 0.1 * torch.eye(4)
    config = resolve_config(overrides=PLAIN).config.diffusion
    diffusion = GaussianDiffusion(nn.Identity(), config)
    diffusion.model = GaussianOptimalDenoiser(mu, cov, diffusion.alphas_cumprod)
    return diffusion, mu, cov


def run_sampler(diffusion: GaussianDiffusion, name: str, steps: int, n: int = 4000, seed: int = 1) -> torch.Tensor:
    label = torch.zeros(n, 6, dtype=torch.float64)
    geom = torch.zeros(3, 2)
    x = diffusion.sample(label, geom, sampler=name, steps=steps, generator=torch.Generator().manual_seed(seed))
    return x.flatten(1).double()


#: Covariance tolerance per sampler. The SDE solver pays for its robustness on real events (fresh
#: noise corrects model errors at the no-hit point mass) with a larger 20-step bias on smooth data,
#: about 6% too much variance: max error 0.061 against the truth with 20,000 samples (ODE 0.031,
#: the sampling noise), 0.11 against a 4,000-sample DDPM run; a wrong update gives 0.2-0.7.
COV_TOLERANCE = {"dpm-solver-sde": 0.15}


@pytest.mark.parametrize("name,steps", [("ddpm", None), ("ddim", 200), ("dpm-solver", 20), ("dpm-solver-sde", 20)])
def test_samplers_recover_the_gaussian(gaussian, name: str, steps: int | None) -> None:  # type: ignore[no-untyped-def]
    diffusion, mu, cov = gaussian
    samples = run_sampler(diffusion, name, steps or 1000)
    assert torch.allclose(samples.mean(0), mu.double(), atol=0.05)
    assert torch.allclose(torch.cov(samples.T), cov.double(), atol=COV_TOLERANCE.get(name, 0.06))


@pytest.mark.parametrize("name", ["dpm-solver", "dpm-solver-sde"])
def test_dpm_solver_at_20_steps_agrees_with_ddpm_at_1000(gaussian, name: str) -> None:  # type: ignore[no-untyped-def]
    diffusion, _, _ = gaussian
    fast, slow = run_sampler(diffusion, name, 20), run_sampler(diffusion, "ddpm", 1000, seed=2)
    assert torch.allclose(fast.mean(0), slow.mean(0), atol=0.06)
    assert torch.allclose(torch.cov(fast.T), torch.cov(slow.T), atol=COV_TOLERANCE.get(name, 0.08))


def test_dpm_solver_follows_the_same_ode_as_ddim(gaussian) -> None:  # type: ignore[no-untyped-def]
    """Both deterministic samplers from the same noise: 20 DPM++ steps ~ 1000 DDIM steps."""
    diffusion, _, _ = gaussian
    fast, exact = run_sampler(diffusion, "dpm-solver", 20, n=200), run_sampler(diffusion, "ddim", 1000, n=200)
    assert (fast - exact).abs().max() < 0.15  # measured 0.07 (DDIM at 20 steps: 0.52)


def test_dpm_solver_sde_is_the_ode_plus_noise(gaussian) -> None:  # type: ignore[no-untyped-def]
    """eta = 0 is exactly the deterministic solver; the SDE (eta = 1) draws fresh noise, reproducibly by seed."""
    from genesis_cli.engine.diffusion.samplers.dpm_solver import sample_dpm_solver

    diffusion, _, _ = gaussian
    x = torch.randn(50, 2, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)

    def eps_fn(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return diffusion.guided_eps(x_t, t, torch.zeros(len(x_t), 6, dtype=torch.float64), torch.zeros(3, 2), 1.0)

    ac = diffusion.alphas_cumprod
    ode = SAMPLERS["dpm-solver"](eps_fn, x, ac, 10)
    assert torch.equal(sample_dpm_solver(eps_fn, x, ac, 10, eta=0.0, generator=torch.Generator().manual_seed(9)), ode)
    sde = [SAMPLERS["dpm-solver-sde"](eps_fn, x, ac, 10, generator=torch.Generator().manual_seed(s)) for s in (9, 9, 10)]
    assert torch.equal(sde[0], sde[1]) and not torch.equal(sde[0], sde[2])
    assert (sde[0] - ode).abs().max() > 1e-3


def test_sampler_callback_sees_every_step(gaussian) -> None:  # type: ignore[no-untyped-def]
    diffusion, _, _ = gaussian
    seen: list[tuple[int, int]] = []
    diffusion.sample(torch.zeros(2, 6), torch.zeros(3, 2), sampler="ddim", steps=7,
                     callback=lambda info: seen.append((info["i"], info["n"])))
    assert seen == [(i, 7) for i in range(7)]


def test_unknown_sampler() -> None:
    diffusion = diffusion_with(nn.Identity())
    with pytest.raises(ValueError, match="unknown sampler 'euler'"):
        diffusion.sample(torch.zeros(1, 6), torch.zeros(3, 4), sampler="euler")


class LabelSensitive(nn.Module):
    """Output depends on label and on the drop mask, so guidance arithmetic is observable."""

    def forward(self, x, t, label, geom, drop_label=None):  # type: ignore[no-untyped-def]
        cond = label[:, :2, None].expand_as(x)
        if drop_label is None:
            return x * 0.1 + cond
        return x * 0.1 + torch.where(drop_label[:, None, None], torch.full_like(cond, -2.0), cond)


def test_guidance_combines_conditional_and_unconditional() -> None:
    diffusion = diffusion_with(LabelSensitive())
    x, t, label, geom = torch.randn(3, 2, 4), torch.tensor([5, 50, 500]), torch.randn(3, 6), torch.zeros(3, 4)
    model = diffusion.model
    cond = model(x, t, label, geom, drop_label=torch.zeros(3, dtype=torch.bool))
    uncond = model(x, t, label, geom, drop_label=torch.ones(3, dtype=torch.bool))
    assert torch.equal(diffusion.guided_eps(x, t, label, geom, 1.0), cond)  # scale 1 = conditional model
    assert torch.equal(diffusion.guided_eps(x, t, label, geom, 0.0), uncond)
    assert torch.allclose(diffusion.guided_eps(x, t, label, geom, 3.0), uncond + 3.0 * (cond - uncond))


def test_v_prediction_round_trip() -> None:
    diffusion = diffusion_with(nn.Identity(), "diffusion.prediction_type=v")
    x0, noise, t = torch.randn(4, 2, 5), torch.randn(4, 2, 5), torch.tensor([0, 10, 500, 999])
    x_t = diffusion.q_sample(x0, t, noise)
    v = diffusion.target(x0, noise, t)
    assert torch.allclose(diffusion.eps_from_output(x_t, t, v), noise, atol=1e-5)


def test_min_snr_weights() -> None:
    t = torch.tensor([0, 999])
    eps = diffusion_with(nn.Identity(), "diffusion.loss_weighting=min_snr").loss_weights(t)
    ac = make_betas("linear", 1000)
    snr0 = (1 - ac[0]) / ac[0]  # a_0 = 1 - beta_0
    assert math.isclose(eps[0].item(), 5.0 / float(snr0), rel_tol=1e-4)  # high SNR: down-weighted
    assert eps[1].item() == 1.0  # low SNR: weight 1
    uniform = diffusion_with(nn.Identity()).loss_weights(t)
    assert torch.equal(uniform, torch.ones(2))


def test_label_dropout_rate_in_the_loss() -> None:
    seen: list[torch.Tensor] = []

    class Spy(nn.Module):
        def forward(self, x, t, label, geom, drop_label=None):  # type: ignore[no-untyped-def]
            seen.append(drop_label)
            return torch.zeros_like(x)

    diffusion = diffusion_with(Spy(), "diffusion.cond_drop_prob=0.25")
    diffusion.loss(torch.zeros(4000, 2, 3), torch.zeros(3, 3), torch.zeros(4000, 6),
                   generator=torch.Generator().manual_seed(0))
    assert abs(seen[0].float().mean().item() - 0.25) < 0.03


def test_custom_loss_by_subclassing() -> None:
    """The guide's pattern: subclass GaussianDiffusion and override loss(x0_sig, geom, label)."""

    class CustomDiffusion(GaussianDiffusion):
        def loss(self, x0_sig, geom, label, **kwargs):  # type: ignore[no-untyped-def]
            return super().loss(x0_sig, geom, label, **kwargs) * 0 + x0_sig.abs().mean()

    diffusion = CustomDiffusion(LabelSensitive(), resolve_config(overrides=PLAIN).config.diffusion)
    assert diffusion.loss(torch.ones(2, 2, 3), torch.zeros(3, 3), torch.zeros(2, 6)).item() == 1.0


class Constant(nn.Module):
    """Predicts a fixed tensor, so the loss's treatment of each element is observable."""

    def __init__(self, value: torch.Tensor) -> None:
        super().__init__()
        self.value = value

    def forward(self, x, t, label, geom, drop_label=None):  # type: ignore[no-untyped-def]
        return self.value.expand_as(x)


def hit_channel_events() -> torch.Tensor:
    """(2, 3, 4): DOM 0 hit in both events, the rest empty (h = -1, npe = time = 0)."""
    x0 = torch.zeros(2, 3, 4)
    x0[:, 2] = -1.0
    x0[:, :, 0] = torch.tensor([1.0, 0.5, 1.0])
    return x0


def test_masked_loss_ignores_npe_and_time_of_empty_doms() -> None:
    """eps prediction at t = 0 (a ~ 1): with a zero noise draw the loss sees the prediction itself."""
    x0 = hit_channel_events()
    off_empty = torch.zeros(1, 3, 4)
    off_empty[:, :2, 1:] = 5.0  # wrong npe/time on the empty DOMs only
    off_hit = torch.zeros(1, 3, 4)
    off_hit[:, :2, 0] = 5.0  # wrong npe/time on the hit DOM
    off_h = torch.zeros(1, 3, 4)
    off_h[:, 2, 1:] = 5.0  # wrong hit channel on the empty DOMs
    losses = {}
    for name, value in (("empty", off_empty), ("hit", off_hit), ("h", off_h)):
        diffusion = GaussianDiffusion(Constant(value), resolve_config(overrides=[
            "diffusion.prediction_type=eps", "diffusion.cond_drop_prob=0", "diffusion.timesteps=1"]).config.diffusion)
        error = (value.expand_as(x0)) ** 2  # the target eps is what the per-element error is measured against
        losses[name] = float(diffusion.per_sample_loss(error, x0).mean())
    assert losses["empty"] == 0.0  # never trained: the sampler projects them away
    assert losses["hit"] == pytest.approx(25.0)  # per hit value: (25 + 25) / 2
    assert losses["h"] == pytest.approx(25.0 * 3 / 4)  # mean over all DOMs of the hit channel


def test_unmasked_loss_weighs_every_dom() -> None:
    x0 = hit_channel_events()
    diffusion = diffusion_with(nn.Identity(), "diffusion.hit_channel=true", "diffusion.mask_empty_doms=false")
    error = torch.rand(2, 3, 4)
    expected = error[:, 2].mean(1) + error[:, :2].flatten(1).mean(1)
    assert torch.allclose(diffusion.per_sample_loss(error, x0), expected)


def test_hit_logit_posterior_is_the_exact_one_bit_denoiser() -> None:
    """With no prior information (logit 0) the clean estimate is E[h | x_t] for h = +-1 equally likely."""
    from genesis_cli.engine.diffusion.hits import clean_estimate

    a = torch.tensor([[0.9]])
    h = torch.tensor([[-1.0] * 4000 + [1.0] * 4000])
    x_t = a.sqrt() * h + (1 - a).sqrt() * torch.randn(h.shape, generator=torch.Generator().manual_seed(0))
    estimate = clean_estimate(x_t, a, torch.zeros_like(x_t))
    bins = torch.linspace(-1.5, 1.5, 7)
    for lo, hi in zip(bins[:-1], bins[1:]):  # calibrated: the estimate equals the mean of h given x_t
        inside = (x_t > lo) & (x_t <= hi)
        if inside.sum() > 200:
            assert abs(float(estimate[inside].mean() - h[inside].mean())) < 0.05
    low_noise = clean_estimate(torch.tensor([[0.97, -1.02]]), torch.tensor([[0.9999]]), torch.zeros(1, 2))
    assert torch.allclose(low_noise, torch.tensor([[1.0, -1.0]]))  # snaps to +-1 by construction


def test_hit_logit_eps_matches_its_clean_estimate() -> None:
    diffusion = GaussianDiffusion(nn.Identity(), resolve_config().config.diffusion)
    assert diffusion.hit_logits
    x_t, output, t = torch.randn(2, 3, 30), torch.randn(2, 3, 30), torch.tensor([10, 700])
    eps = diffusion.eps_from_output(x_t, t, output)
    a = diffusion.alphas_cumprod[t].float()[:, None]
    from genesis_cli.engine.diffusion.hits import clean_estimate

    x0_h = (x_t[:, 2] - (1 - a).sqrt() * eps[:, 2]) / a.sqrt()
    assert torch.allclose(x0_h, clean_estimate(x_t[:, 2], a, output[:, 2]), atol=1e-4)


def test_projection_zeroes_npe_and_time_where_the_clean_estimate_is_empty() -> None:
    diffusion = GaussianDiffusion(nn.Identity(), resolve_config(overrides=[
        "diffusion.prediction_type=eps", "diffusion.empty_dom_values=zero"]).config.diffusion)
    x_t, eps, t = torch.randn(2, 3, 50), torch.randn(2, 3, 50), torch.tensor([100, 900])
    projected = diffusion.project(x_t, t, eps)
    a = diffusion.alphas_cumprod[t].float()[:, None, None]
    x0 = (x_t - (1 - a).sqrt() * eps) / a.sqrt()
    x0_projected = (x_t - (1 - a).sqrt() * projected) / a.sqrt()
    empty = (x0[:, 2:3] <= 0).expand(-1, 2, -1)
    assert torch.allclose(x0_projected[:, :2][empty], torch.zeros(int(empty.sum())), atol=1e-4)
    assert torch.allclose(x0_projected[:, :2][~empty], x0[:, :2][~empty], atol=1e-4)
    assert torch.allclose(x0_projected[:, 2], x0[:, 2], atol=1e-4)  # the hit channel itself is untouched


def test_imputed_empty_doms_carry_the_values_of_real_hits() -> None:
    from genesis_cli.engine.diffusion.hits import impute_empty_values

    x0 = torch.zeros(2, 3, 50)
    x0[:, 2] = -1.0
    x0[0, :, 3] = torch.tensor([2.0, 3.0, 1.0])
    x0[1, :, 7] = torch.tensor([5.0, 7.0, 1.0])
    filled = impute_empty_values(x0, torch.Generator().manual_seed(0))
    assert torch.equal(filled[:, 2], x0[:, 2])  # which DOMs are hit does not change
    pairs = {tuple(v) for v in filled[:, :2].permute(0, 2, 1).reshape(-1, 2).tolist()}
    assert pairs == {(2.0, 3.0), (5.0, 7.0)}  # every empty DOM holds one hit's (npe, time)
    assert torch.equal(filled[0, :, 3], x0[0, :, 3]) and torch.equal(filled[1, :, 7], x0[1, :, 7])
    empty = torch.zeros(1, 3, 4)
    empty[:, 2] = -1.0
    assert torch.equal(impute_empty_values(empty), empty)  # no hit in the batch: nothing to draw from
