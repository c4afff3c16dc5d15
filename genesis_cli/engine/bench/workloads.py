"""The workloads `genesis bench` times: a training step, a sampled batch, a loader pass.

Training runs :class:`~genesis_cli.engine.training.step.TrainStep`, the very step `genesis train`
runs (autocast, torch.compile with its fallback, clipping, fused AdamW, EMA). Sampling runs the
configured sampler with guidance under the autocast `genesis sample` uses. Inputs are synthetic
(normalised-scale noise and labels on the built-in IceCube geometry): speed does not depend on the
values, and no data file is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from genesis_cli.engine.bench.baseline import ORIGINAL_GUIDANCE_SCALE, ORIGINAL_TIMED_STEPS
from genesis_cli.engine.bench.measure import BenchResult, Workload
from genesis_cli.engine.data.benchmark import benchmark_loader
from genesis_cli.engine.diffusion import GaussianDiffusion
from genesis_cli.engine.diffusion.gaussian import passes_per_step
from genesis_cli.engine.ema import EMA
from genesis_cli.engine.models import ModelCost, ModelFactory, model_cost
from genesis_cli.engine.runtime.compilation import CompiledDenoiser
from genesis_cli.engine.runtime.phases import PhaseClock
from genesis_cli.engine.runtime.precision import autocast, autocast_dtype, precision_name
from genesis_cli.engine.sampling.generator import for_sampling
from genesis_cli.engine.training.components import build_optimizer
from genesis_cli.engine.training.step import TrainStep
from genesis_cli.settings import ExperimentConfig

SYNTHETIC_HIT_FRACTION = 0.05  # a few hundred of 5160 DOMs are hit in an event


def synthetic_batch(batch: int, n_doms: int, device: torch.device, seed: int = 0,
                    channels: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Signals (B, C, L) and labels (B, 6) at the scale of normalised data (a hit channel of +-1 when C = 3)."""
    generator = torch.Generator(device="cpu").manual_seed(seed)  # the same batch on every device
    x = torch.randn(batch, channels, n_doms, generator=generator, device="cpu") * 0.3
    if channels > 2:
        hit = torch.rand(batch, n_doms, generator=generator, device="cpu") < SYNTHETIC_HIT_FRACTION
        x[:, 2] = torch.where(hit, 1.0, -1.0)
    label = (torch.rand(batch, 6, generator=generator, device="cpu") * 2 - 1).to(device)
    return x.to(device), label


def _cost(config: ExperimentConfig) -> ModelCost:
    """The model's cost for the events its diffusion generates (the hit channel adds one per DOM)."""
    return model_cost(config.model, channels=config.diffusion.event_channels)


def icecube_geometry(device: torch.device) -> torch.Tensor:
    """The built-in 86-string geometry (3, 5160), scaled like normalised geometry."""
    from genesis_cli.engine.detector import icecube86_geometry

    positions = torch.from_numpy(icecube86_geometry().positions).float()
    return (positions / positions.abs().max()).to(device)


def _prepare(config: ExperimentConfig, batch_size: int, device: torch.device
             ) -> tuple[torch.nn.Module, GaussianDiffusion, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Seeded model and diffusion of ``config``, the geometry, and a synthetic batch (x, label)."""
    torch.manual_seed(config.seed)
    model, diffusion = ModelFactory.create_model_and_diffusion(config.model, config.diffusion, device=device)
    geometry = icecube_geometry(device)
    x, label = synthetic_batch(batch_size, geometry.shape[-1], device, channels=config.diffusion.event_channels)
    return model, diffusion, geometry, x, label


def train_workload(config: ExperimentConfig, batch_size: int, device: torch.device, *, variant: str = "genesis",
                   fused: bool | None = None, on_message: Callable[[str], None] | None = None,
                   clock: PhaseClock | None = None) -> Workload:
    """One optimisation step of ``config``'s model on a synthetic batch (its phases timed by ``clock``)."""
    model, diffusion, geometry, x, label = _prepare(config, batch_size, device)
    optimizer = build_optimizer(config, model, device, fused=fused)
    step = TrainStep(config, diffusion, model, optimizer, EMA(model, config.training.ema_decay), device)
    if on_message is not None:
        step.attach(on_message)
    if clock is not None:
        step.clock = clock
    lr = config.training.learning_rate
    flops = _cost(config).training_flops_per_event * batch_size
    fused_text = "fused AdamW" if getattr(optimizer, "defaults", {}).get("fused") else config.training.optimizer
    return Workload("train", variant, device, batch_size, lambda: step(x, geometry, label, lr), flops,
                    f"{config.model.architecture}, {_tokens(config)}, {step.description}, {fused_text}")


def sample_workload(config: ExperimentConfig, batch_size: int, device: torch.device,
                    on_message: Callable[[str], None] | None = None) -> Workload:
    """One batch of ``batch_size`` events from noise with the configured sampler, steps and guidance (a
    student's config: its consistency sampler, one pass per step; variant ``student, N steps``)."""
    model, diffusion, geometry, _, label = _prepare(config, batch_size, device)
    model.eval()
    diffusion = for_sampling(diffusion, config, device, on_message=on_message)  # compiled as `genesis sample` runs it
    d = config.diffusion
    steps = diffusion.timesteps if d.sampler == "ddpm" else d.sampling_steps
    amp = autocast_dtype(config, device)

    @torch.no_grad()
    def run() -> None:
        with autocast(device, amp):
            diffusion.sample(label, geometry, sampler=d.sampler, steps=d.sampling_steps,
                             guidance_scale=d.guidance_scale)

    passes = passes_per_step(d.guidance_scale)
    flops = _cost(config).forward_flops_per_event * steps * passes * batch_size
    compiled = "compiled" if isinstance(diffusion.model, CompiledDenoiser) else "eager"
    student = config.distill.is_student
    guidance = f"guidance {config.distill.guidance_scale:g} folded in" if student else f"guidance {d.guidance_scale:g}"
    counted = f"{steps} step{'s' if steps != 1 else ''}"
    return Workload("sample", f"student, {counted}" if student else "genesis", device, batch_size, run, flops,
                    f"{d.sampler}, {counted}, {guidance}, {precision_name(amp) or 'fp32'}, {compiled}")


def original_sample_workload(config: ExperimentConfig, batch_size: int, device: torch.device) -> Workload:
    """The original's sampling of ``batch_size`` events (all DDPM steps, two guidance passes each),
    timed over ORIGINAL_TIMED_STEPS steps and counted as that fraction of the job (bench/baseline.py)."""
    model, diffusion, geometry, x, label = _prepare(config, batch_size, device)
    model.eval()
    amp = autocast_dtype(config, device)
    total = diffusion.timesteps

    @torch.no_grad()
    def run() -> None:
        with autocast(device, amp):
            for k in range(ORIGINAL_TIMED_STEPS):
                t = torch.full((batch_size,), total - 1 - k, device=device, dtype=torch.long)
                diffusion.guided_eps(x, t, label, geometry, ORIGINAL_GUIDANCE_SCALE)

    flops = _cost(config).forward_flops_per_event * 2 * ORIGINAL_TIMED_STEPS * batch_size
    return Workload("sample", "original", device, batch_size, run, flops,
                    f"ddpm, {total} steps, 2 guidance passes, {_tokens(config)}, {precision_name(amp) or 'fp32'}; "
                    f"timed over {ORIGINAL_TIMED_STEPS} steps", events_per_run=batch_size * ORIGINAL_TIMED_STEPS / total)


def bench_data(path: Path, config: ExperimentConfig, batch_size: int) -> BenchResult:
    """Loader events/s over two timed epochs of ``path`` (after a warm-up epoch)."""
    result = benchmark_loader(path, batch_size=batch_size, epochs=2, config=config,
                              num_workers=config.data.num_workers)
    return BenchResult("data", "genesis", "cpu", batch_size, 2, batch_size / result.events_per_second,
                       result.events_per_second, None, None, None,
                       f"{result.mode} mode, {result.num_workers} workers, {path.name}")


def _tokens(config: ExperimentConfig) -> str:
    """How the detector is cut for the model, e.g. 'patch string' or 'patch 1'."""
    return f"patch {config.model.resolved_patch_size()}"
