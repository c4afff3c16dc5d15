"""Registry contracts, in the manner of diffusers' common scheduler tests: every name the settings
offer has an implementation and the reverse, and every sampler and architecture keeps the contract
the rest of GENESIS relies on. A new sampler or architecture gets these tests by being registered."""

from __future__ import annotations

import inspect

import pytest
import torch

from genesis_cli.engine.diffusion.samplers import SAMPLERS as SAMPLER_FUNCTIONS
from genesis_cli.engine.diffusion.schedules import make_betas
from genesis_cli.engine.models.factory import TRUNKS
from genesis_cli.settings.presets import ALIASES, preset_for_architecture, preset_names
from genesis_cli.settings.sections import ARCHITECTURES, SAMPLERS
from tests.test_models import CHANNELS, batch, make, small_geometry


def test_every_sampler_name_has_an_implementation_and_the_reverse() -> None:
    assert set(SAMPLERS) == set(SAMPLER_FUNCTIONS)


def test_every_architecture_name_has_an_implementation_and_a_preset() -> None:
    assert set(ARCHITECTURES) == set(TRUNKS)
    presets = set(preset_names())
    for architecture in ARCHITECTURES:
        assert preset_for_architecture(architecture) in presets
    assert set(ALIASES.values()) <= presets


# -- sampler contract: sample(eps_fn, x_T, alphas_cumprod, steps, *, generator=None, callback=None) -> x_0 ---

def _schedule() -> torch.Tensor:
    return torch.cumprod(1 - make_betas("linear", 100, 1e-4, 0.02), dim=0)


@pytest.mark.parametrize("name", SAMPLERS)
def test_sampler_signature(name: str) -> None:
    parameters = inspect.signature(SAMPLER_FUNCTIONS[name]).parameters
    assert list(parameters)[:4] == ["eps_fn", "x", "alphas_cumprod", "steps"]
    for keyword in ("generator", "callback"):
        assert parameters[keyword].kind is inspect.Parameter.KEYWORD_ONLY and parameters[keyword].default is None


@pytest.mark.parametrize("name", SAMPLERS)
def test_sampler_shape_dtype_and_finiteness(name: str) -> None:
    x = torch.randn(3, CHANNELS, 20, generator=torch.Generator().manual_seed(0))
    out = SAMPLER_FUNCTIONS[name](lambda x_t, t: 0.1 * x_t, x.clone(), _schedule(), 10,
                                  generator=torch.Generator().manual_seed(1))
    assert out.shape == x.shape and out.dtype == x.dtype and torch.isfinite(out).all()


@pytest.mark.parametrize("name", SAMPLERS)
def test_sampler_is_deterministic_under_a_generator(name: str) -> None:
    def run(seed: int) -> torch.Tensor:
        x = torch.randn(2, CHANNELS, 16, generator=torch.Generator().manual_seed(0))
        return SAMPLER_FUNCTIONS[name](lambda x_t, t: 0.1 * x_t, x, _schedule(), 8,
                                       generator=torch.Generator().manual_seed(seed))

    assert torch.equal(run(5), run(5))


@pytest.mark.parametrize("name", SAMPLERS)
def test_sampler_reports_each_step_and_ends_at_time_zero(name: str) -> None:
    seen: list[dict[str, object]] = []
    times: list[int] = []

    def eps(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        times.append(int(t[0]))
        return 0.1 * x_t

    SAMPLER_FUNCTIONS[name](eps, torch.randn(2, CHANNELS, 16), _schedule(), 8, generator=torch.Generator().manual_seed(0),
                            callback=seen.append)
    assert len(seen) >= 1 and [int(c["i"]) for c in seen] == list(range(len(seen)))  # type: ignore[call-overload]
    assert all(int(c["n"]) == len(seen) for c in seen)  # type: ignore[call-overload]
    assert times == sorted(times, reverse=True)  # from noisy to clean
    if name == "consistency":  # a student's last evaluation maps its grid point to the clean end: x = f(x_t, t)
        assert torch.equal(seen[-1]["x"], seen[-1]["x0"])  # type: ignore[arg-type]
    else:
        assert times[-1] == 0  # the solvers end at t = 0


# -- architecture contract: model(x_t (B, C, L), t (B,), label (B, 6), geometry (3, L)) -> (B, C, L) -----

@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_architecture_contract(architecture: str) -> None:
    model, _ = make(architecture)
    x, t, label = batch()
    geometry = small_geometry()
    out = model(x, t, label, geometry)
    assert out.shape == x.shape and torch.isfinite(out).all()
    dropped = model(x, t, label, geometry, drop_label=torch.ones(len(x), dtype=torch.bool))
    assert dropped.shape == x.shape  # the unconditional pass of classifier-free guidance
    ((out - 1).square().mean() + (dropped - 1).square().mean()).backward()  # outputs start at zero
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
