"""Simulate straight to an event file: the engine behind ``genesis simulate``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from genesis_cli.engine.data.writer import EventWriter, WrittenEvents
from genesis_cli.engine.detector import Geometry
from genesis_cli.engine.interrupts import deferred_interrupts
from genesis_cli.engine.simulation.from_labels import LabelledConditions
from genesis_cli.engine.simulation.simulator import INFO_COLUMNS, EventSimulator
from genesis_cli.settings.simulation import SimulationConfig


@dataclass(frozen=True)
class SimulationSummary(WrittenEvents):
    """What a simulation run produced."""

    mean_hit_doms: float
    mean_total_npe: float


def simulate_to_file(path: Path, config: SimulationConfig, geometry: Geometry, *, overwrite: bool = False,
                     progress: Callable[[int], None] | None = None,
                     conditions: LabelledConditions | None = None) -> SimulationSummary:
    """Write ``config.events`` simulated events to ``path``, or one event for each of ``conditions``'
    labels (then ``config.events`` must equal their number); all or nothing (Ctrl-C leaves no file)."""
    started = time.perf_counter()
    simulator = EventSimulator(geometry, config)
    attrs = {"generator": "genesis simulate", "geometry_source": geometry.source,
             "simulation_config": config.model_dump(mode="json")}
    if conditions is not None:
        if conditions.events != config.events:
            raise ValueError(f"{conditions.events} labels for {config.events} events")
        attrs["labels_from"] = str(conditions.source)
        batches = simulator.batches_for(conditions.labels, progress=progress)
    else:
        batches = simulator.batches(config.events, progress)
    hits = npe = 0.0
    with deferred_interrupts() as interrupt, EventWriter(
            path, geometry, info_columns=INFO_COLUMNS, chunk_events=config.chunk_events,
            compression=config.compression, attrs=attrs, overwrite=overwrite,
            id_columns=conditions.ids.columns if conditions is not None and conditions.ids else None) as writer:
        for batch in batches:
            interrupt.check()  # Ctrl-C: the writer deletes the partial file on the way out
            ids = None
            if conditions is not None and conditions.ids is not None:
                ids = conditions.ids.values[writer.count:writer.count + len(batch.labels)]
            writer.append(batch.signals, batch.labels, batch.info, ids=ids)
            hits += float((batch.signals[:, 0] > 0).sum())
            npe += float(batch.info[:, -1].sum())
        interrupt.check()
        final = writer.finish()
    return SimulationSummary(final, config.events, time.perf_counter() - started,
                             hits / config.events, npe / config.events)
