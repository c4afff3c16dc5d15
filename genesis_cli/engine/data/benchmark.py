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
                     stream: bool = False, config: ExperimentConfig | None = None) -> LoaderResult:
    """Steady-state throughput: one untimed warm-up epoch, then ``epochs`` timed epochs."""
    config = (config or ExperimentConfig()).model_copy(deep=True)
    if stream:
        config.data.memory_budget_gb = 1e-9  # nothing fits: force stream mode
    started = time.perf_counter()
    loader = make_dataloader(path, batch_size, config=config, num_workers=num_workers)
    setup = time.perf_counter() - started
    for _ in loader:  # warm-up: allocator, page cache, worker start
        pass
    events = 0
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        loader.set_epoch(epoch)
        for x_sig, _geom, _label, _idx in loader:
            events += x_sig.shape[0]
    return LoaderResult(loader.mode, batch_size, num_workers, events / (time.perf_counter() - started), setup)
