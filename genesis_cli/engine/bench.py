"""Throughput measurements: training, sampling and data loading (the engine of `genesis bench`).

Every measurement warms up first, synchronises the device around each timed repeat, and reports
the median. Model FLOPs come from FlopCounterMode (engine/models/profile.py). MFU (model FLOPs
utilisation) = achieved model FLOP/s / the device's dense bf16 peak, from the table below
(vendor datasheet figures, dense, without sparsity); on a CPU only FLOP/s is reported.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from genesis_cli.engine.data.benchmark import benchmark_loader
from genesis_cli.engine.device import resolve_device
from genesis_cli.engine.memory import peak_memory_bytes
from genesis_cli.engine.models import ModelFactory, model_cost
from genesis_cli.engine.training.components import autocast, autocast_dtype, build_optimizer
from genesis_cli.settings import ExperimentConfig

#: Dense bf16 peak TFLOP/s by GPU name fragment (datasheets; SXM variants where both exist).
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0,
                    "A10": 125.0, "RTX 4090": 165.0, "V100": 125.0}
WARMUP = 3


@dataclass(frozen=True)
class BenchResult:
    what: str
    device: str
    batch_size: int
    repeats: int
    median_seconds: float  # per step (train), per batch (sample), per epoch pass (data: n/a)
    events_per_second: float
    peak_memory_bytes: int | None  # GPU peak on CUDA, process high-water mark on CPU; None for data
    flops_per_second: float | None
    mfu: float | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def peak_flops(device: torch.device) -> float | None:
    """The device's dense bf16 peak in FLOP/s, or None (CPU, unknown GPU)."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for fragment, tflops in PEAK_BF16_TFLOPS.items():
        if fragment in name:
            return tflops * 1e12
    return None


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(step: Callable[[], None], device: torch.device, repeats: int) -> float:
    for _ in range(WARMUP):
        step()
    times = []
    for _ in range(repeats):
        _sync(device)
        started = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _inputs(batch: int, n_doms: int, device: torch.device, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = (torch.randn(batch, 2, n_doms, generator=generator) * 0.3).to(device)
    label = (torch.rand(batch, 6, generator=generator) * 2 - 1).to(device)
    return x, label


def _geometry(device: torch.device) -> torch.Tensor:
    from genesis_cli.engine.detector import icecube_like_geometry

    positions = torch.from_numpy(icecube_like_geometry().positions).float()
    return (positions / positions.abs().max()).to(device)


def bench_train(config: ExperimentConfig, batch_size: int, repeats: int, device_spec: str | None = None) -> BenchResult:
    device = resolve_device(device_spec or config.device)
    torch.manual_seed(config.seed)
    model, diffusion = ModelFactory.create_model_and_diffusion(config.model, config.diffusion, device=device)
    optimizer = build_optimizer(config, model, device)
    amp = autocast_dtype(config, device)
    geometry = _geometry(device)
    x, label = _inputs(batch_size, geometry.shape[-1], device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def step() -> None:
        with autocast(device, amp):
            loss = diffusion.loss(x, geometry, label)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    seconds = _timed(step, device, repeats)
    rate = batch_size / seconds
    flops = model_cost(config.model).training_flops_per_event * rate
    peak = peak_flops(device)
    return BenchResult("train", str(device), batch_size, repeats, seconds, rate, peak_memory_bytes(device), flops,
                       flops / peak if peak else None, f"{config.model.architecture}, amp {amp or 'off'}")


@torch.no_grad()
def bench_sample(config: ExperimentConfig, batch_size: int, repeats: int, device_spec: str | None = None) -> BenchResult:
    device = resolve_device(device_spec or config.device)
    torch.manual_seed(config.seed)
    model, diffusion = ModelFactory.create_model_and_diffusion(config.model, config.diffusion, device=device)
    model.eval()
    geometry = _geometry(device)
    _, label = _inputs(batch_size, geometry.shape[-1], device)
    d = config.diffusion
    steps = diffusion.timesteps if d.sampler == "ddpm" else d.sampling_steps
    amp = autocast_dtype(config, device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def run() -> None:
        with autocast(device, amp):
            diffusion.sample(label, geometry, sampler=d.sampler, steps=d.sampling_steps)

    seconds = _timed(run, device, repeats)
    rate = batch_size / seconds
    passes = 1 if d.guidance_scale in (0.0, 1.0) else 2
    flops = model_cost(config.model).forward_flops_per_event * steps * passes * rate
    peak = peak_flops(device)
    return BenchResult("sample", str(device), batch_size, repeats, seconds, rate, peak_memory_bytes(device), flops,
                       flops / peak if peak else None,
                       f"{d.sampler}, {steps} steps, guidance {d.guidance_scale}")


def bench_data(path: Path, config: ExperimentConfig, batch_size: int) -> BenchResult:
    result = benchmark_loader(path, batch_size=batch_size, epochs=2, config=config)
    return BenchResult("data", "cpu", batch_size, 2, batch_size / result.events_per_second, result.events_per_second,
                       None, None, None, f"{result.mode} mode, {path.name}")
