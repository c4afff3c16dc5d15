"""Timing a workload: warm-up, device-synchronised repeats, the median, FLOP/s and MFU.

MFU (model FLOPs utilisation, Chowdhery et al. 2022, "PaLM", appendix B) = achieved model FLOP/s
divided by the device's dense bf16 peak. Model FLOPs are counted once per event with
FlopCounterMode (engine/models/profile.py), so recomputation (gradient checkpointing) and padding
do not inflate the figure. The peak table holds vendor datasheet figures, dense (no sparsity), the
SXM variant where both exist; a GPU not in it, and any CPU, gets FLOP/s only.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch

from genesis_cli.engine.memory import peak_memory_bytes, reset_peak_memory

#: Dense bf16 peak TFLOP/s by GPU name fragment, most specific first (vendor datasheets).
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0,
                    "A10": 125.0, "RTX 4090": 165.0, "V100": 125.0}
#: Untimed repeats before timing: allocator warm-up, cuDNN/cuBLAS heuristics, torch.compile.
WARMUP = 3


@dataclass(frozen=True)
class Workload:
    """Something to time: ``run()`` processes ``events`` events and costs ``flops_per_run``."""

    what: str  # train | sample
    variant: str  # genesis | original (the baseline configuration)
    device: torch.device
    batch_size: int
    run: Callable[[], None]
    flops_per_run: float
    detail: str
    events_per_run: float | None = None  # None: batch_size; less when run() is a measured part of the job

    @property
    def events(self) -> float:
        return self.batch_size if self.events_per_run is None else self.events_per_run


@dataclass(frozen=True)
class BenchResult:
    what: str
    variant: str
    device: str
    batch_size: int
    repeats: int
    median_seconds: float  # per training step, per sampled batch, or per loader batch
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


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(step: Callable[[], None], device: torch.device, repeats: int, warmup: int = WARMUP) -> float:
    """Median wall time of ``step`` over ``repeats`` synchronised runs, after ``warmup`` runs."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        synchronize(device)
        started = time.perf_counter()
        step()
        synchronize(device)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(workload: Workload, repeats: int) -> BenchResult:
    """Time ``workload`` and turn the median into events/s, FLOP/s and MFU."""
    device = workload.device
    reset_peak_memory(device)
    seconds = median_seconds(workload.run, device, repeats)
    flops = workload.flops_per_run / seconds
    peak = peak_flops(device)
    return BenchResult(workload.what, workload.variant, str(device), workload.batch_size, repeats, seconds,
                       workload.events / seconds, peak_memory_bytes(device), flops,
                       flops / peak if peak else None, workload.detail)
