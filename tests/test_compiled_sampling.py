"""Sampling with the denoiser compiled (runtime/compilation.py) gives the events of the eager path."""

from __future__ import annotations

import pytest
import torch

from genesis_cli.engine.bench.workloads import icecube_geometry
from genesis_cli.engine.models import ModelFactory
from genesis_cli.engine.runtime.compilation import CompiledDenoiser
from genesis_cli.engine.sampling.generator import for_sampling
from genesis_cli.settings import resolve_config
from genesis_cli.settings.sections import ARCHITECTURES

TINY = ["model.hidden=32", "model.heads=2", "model.depth=1", "diffusion.sampling_steps=3"]


def _sample(diffusion, geometry: torch.Tensor, sampler: str) -> torch.Tensor:  # type: ignore[no-untyped-def]
    labels = torch.rand(6, 6, generator=torch.Generator().manual_seed(1)) * 2 - 1
    return diffusion.sample(labels, geometry, sampler=sampler, steps=3, guidance_scale=2.0,
                            generator=torch.Generator().manual_seed(2))


def _eager_and(sets: list[str]):  # type: ignore[no-untyped-def]
    config = resolve_config("debug", overrides=[*TINY, *sets]).config
    torch.manual_seed(0)
    model, diffusion = ModelFactory.create_model_and_diffusion(config.model, config.diffusion, device="cpu")
    model.eval()
    messages: list[str] = []
    return config, diffusion, for_sampling(diffusion, config, torch.device("cpu"), on_message=messages.append), messages


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["dpm-solver-sde", "ddim"])
def test_compiled_sampling_matches_the_eager_path(sampler: str) -> None:
    config, eager, compiled, messages = _eager_and(["sampling.compile=true"])  # the shipped mode, reduce-overhead
    assert isinstance(compiled.model, CompiledDenoiser)
    geometry = icecube_geometry(torch.device("cpu"))
    with torch.no_grad():
        expected, got = _sample(eager, geometry, sampler), _sample(compiled, geometry, sampler)
    assert not messages, messages  # it compiled: no fallback
    assert compiled.model.is_compiled
    torch.testing.assert_close(got, expected, rtol=1e-2, atol=1e-2)  # bf16 tolerance; fp32 on a CPU agrees far closer
    assert (got - expected).abs().max() < 1e-3


def test_a_compiler_failure_falls_back_to_the_same_events_with_one_message() -> None:
    config, eager, compiled, messages = _eager_and(["sampling.compile=true", "sampling.compile_backend=no_such_backend"])
    geometry = icecube_geometry(torch.device("cpu"))
    with torch.no_grad():
        expected, got = _sample(eager, geometry, "dpm-solver-sde"), _sample(compiled, geometry, "dpm-solver-sde")
    assert torch.equal(got, expected)
    assert len(messages) == 1 and "torch.compile failed" in messages[0] and "sampling.compile: false" in messages[0]
    assert not compiled.model.is_compiled


def test_sampling_is_eager_on_a_cpu_unless_asked() -> None:
    config, eager, chosen, _ = _eager_and([])
    assert config.sampling.compile is None and chosen is eager


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_every_architecture_compiles_to_one_graph(architecture: str) -> None:
    """No graph breaks in the denoiser: torch.compile sees one graph (issue 22, MFU: no breaks in the step)."""
    config = resolve_config("debug", overrides=[*TINY, f"model.architecture={architecture}"]).config
    model, _ = ModelFactory.create_model_and_diffusion(config.model, config.diffusion, device="cpu")
    geometry = icecube_geometry(torch.device("cpu"))
    x = torch.randn(2, config.diffusion.event_channels, geometry.shape[-1])
    t, label = torch.tensor([3, 7]), torch.rand(2, 6)
    explained = torch._dynamo.explain(model)(x, t, label, geometry, drop_label=torch.tensor([False, True]))
    assert (explained.graph_count, explained.graph_break_count) == (1, 0), explained.break_reasons
