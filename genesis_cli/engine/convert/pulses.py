"""Pulses to GENESIS events: per DOM, the total charge and the earliest time, written block by block.

Shared by every pulse-table route (GraphNeT SQLite and Parquet). A block is (event numbers (B,),
unique, in the order the events are written; labels (B, 6); pulses (P, 6) as event_no, x, y, z,
time, charge). Pulses find their event by event number, never by position.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from genesis_cli.engine.data.writer import EventWriter, WrittenEvents
from genesis_cli.engine.detector import Geometry

Block = tuple[np.ndarray, np.ndarray, np.ndarray]
Matcher = Callable[[np.ndarray], np.ndarray]  # (P, 3) pulse locations -> (P,) DOM indices (matching.py)


@dataclass(frozen=True)
class ConversionSummary(WrittenEvents):
    pulses: int
    left_out: int = 0  # events not written (an export leaves out events without any hit DOM)


def per_dom(events: np.ndarray, pulses: np.ndarray, matcher: Matcher, n_doms: int) -> tuple[np.ndarray, int]:
    """Pulses (P, 6) -> signals (B, 2, L): total charge and earliest time per DOM (no hit: 0, inf)."""
    keep = np.isin(pulses[:, 0].astype(np.int64), events)  # a filter may leave gaps in the event range
    pulses = pulses[keep]
    order = np.argsort(events, kind="stable")  # events in any order: each pulse's row by its event number
    row = order[np.searchsorted(events[order], pulses[:, 0].astype(np.int64))]
    dom = matcher(pulses[:, 1:4])
    npe = np.zeros((len(events), n_doms))
    time = np.full((len(events), n_doms), np.inf)
    np.add.at(npe, (row, dom), pulses[:, 5])
    np.minimum.at(time, (row, dom), pulses[:, 4])
    return np.stack([npe, time], axis=1).astype(np.float32), len(pulses)


def pulses_to_file(blocks: Iterable[Block], out: Path, geometry: Geometry, matcher: Matcher, attrs: dict[str, Any], *,
                   overwrite: bool = False, progress: Callable[[int], None] | None = None) -> ConversionSummary:
    """Write the blocks' events to ``out`` (all or nothing: a failure leaves no file)."""
    started = time.perf_counter()
    n_pulses = 0
    with EventWriter(out, geometry, attrs=attrs, overwrite=overwrite) as writer:
        for events, labels, pulses in blocks:
            signals, used = per_dom(events, pulses, matcher, geometry.n_doms)
            writer.append(signals, labels.astype(np.float32))
            n_pulses += used
            if progress is not None:
                progress(writer.count)
        count = writer.count
        path = writer.finish()
    return ConversionSummary(path, count, time.perf_counter() - started, pulses=n_pulses)
