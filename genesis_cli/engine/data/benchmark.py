"""Loader throughput: events/s of ``make_dataloader`` in memory and stream mode, after warm-up."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from genesis_cli.engine.data.loader import make_dataloader
from genesis_cli.settings import ExperimentConfig


@dataclass(frozen=True)
class LoaderResult:
    mode: str
    batch_size: int
    num_workers: int
    events_per_second: float
    setup_seconds: float


def benchmark_loader(path: Path, *, batch_size: int = 256, epochs: int = 3, num_workers: int = 0,
                     stream: bool = False, config: ExperimentConfig | None = None,
                     max_seconds: float | None = None) -> LoaderResult:
    """Steady-state throughput: one untimed warm-up epoch, then ``epochs`` timed epochs; with
    ``max_seconds``, warm-up and timing stop at that deadline (counted from the start, setup included)
    and the rate is that of the batches timed so far."""
    config = (config or ExperimentConfig()).model_copy(deep=True)
    if stream:
        config.data.memory_budget_gb = 1e-9  # nothing fits: force stream mode
    started = time.perf_counter()
    deadline = started + max_seconds if max_seconds is not None else float("inf")
    loader = make_dataloader(path, batch_size, config=config, num_workers=num_workers)
    setup = time.perf_counter() - started
    warm_until = time.perf_counter() + (deadline - time.perf_counter()) / 2  # half of what is left, at most
    for warmed, _ in enumerate(loader):  # warm-up: allocator, page cache, worker start
        if warmed and time.perf_counter() > warm_until:
            break
    events = 0
    timed = time.perf_counter()
    for epoch in range(1, epochs + 1):
        loader.set_epoch(epoch)
        for x_sig, _geom, _label, _idx in loader:
            events += x_sig.shape[0]
            if time.perf_counter() > deadline:
                break
        if time.perf_counter() > deadline:
            break
    return LoaderResult(loader.mode, batch_size, num_workers, events / max(time.perf_counter() - timed, 1e-9), setup)
