"""Pulses to GENESIS events: per DOM, the total charge and the earliest time, written block by block.

Shared by every pulse-table route (GraphNeT SQLite and Parquet, Prometheus). A route yields
PulseBlocks; pulses find their event by event number, never by position. What the pulses say of
their DOM is kept: GraphNeT's ``rde`` becomes the file's per-DOM ``rde`` (over the geometry's) for
every DOM that has a pulse; its ``pmt_area`` fills the file's ``pmt_area`` where the geometry has
none (a pulse's area is its PMT's, and a multi-PMT module's area is the geometry's sum).
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

Matcher = Callable[[np.ndarray], np.ndarray]  # (P, 3) pulse locations -> (P,) DOM indices (matching.py)
#: Columns of PulseBlock.pulses; rde and pmt_area are NaN where the source does not give them.
PULSE_FIELDS = ("event_no", "x", "y", "z", "time", "charge", "rde", "pmt_area")
EVENT_NO = "event_no"


@dataclass(frozen=True)
class PulseBlock:
    """Events and their pulses.

    Attributes:
        events: (B,) int64 event numbers, unique, in the order the events are written.
        labels: (B, 6) GENESIS labels.
        pulses: (P, 8) float64 rows of PULSE_FIELDS (location: position or (string, DOM, DOM)).
        ids: (B, K) int64 further source identities (RunID, ...), named by the route; None: none.
    """

    events: np.ndarray
    labels: np.ndarray
    pulses: np.ndarray
    ids: np.ndarray | None = None

    @classmethod
    def of(cls, events: np.ndarray, labels: np.ndarray, pulses: np.ndarray, ids: np.ndarray | None = None) -> PulseBlock:
        """A block from pulses with 6 columns (no rde, pmt_area: NaN) or all 8."""
        if pulses.shape[1] == 6:
            pulses = np.column_stack([pulses, np.full((len(pulses), 2), np.nan)])
        return cls(np.asarray(events, dtype=np.int64), labels, pulses, ids)

    def identities(self) -> np.ndarray:
        """(B, 1 + K) int64: event_no, then the further ids."""
        columns = [self.events[:, None]] + ([np.asarray(self.ids, dtype=np.int64)] if self.ids is not None else [])
        return np.concatenate(columns, axis=1)


@dataclass(frozen=True)
class ConversionSummary(WrittenEvents):
    pulses: int
    left_out: int = 0  # events not written (an export leaves out events without any hit DOM)


@dataclass
class DomResponse:
    """rde and pmt_area per DOM as the pulses gave them (NaN: no pulse said)."""

    rde: np.ndarray
    pmt_area: np.ndarray

    @classmethod
    def unknown(cls, n_doms: int) -> DomResponse:
        return cls(np.full(n_doms, np.nan), np.full(n_doms, np.nan))

    def update(self, dom: np.ndarray, pulses: np.ndarray) -> None:
        np.fmax.at(self.rde, dom, pulses[:, 6])
        np.fmax.at(self.pmt_area, dom, pulses[:, 7])

    def merged(self, known: np.ndarray | None, name: str) -> np.ndarray | None:
        """``rde``: the pulses' values over ``known`` (the geometry's); ``pmt_area``: ``known`` over the
        pulses'. None when neither gives any."""
        seen = self.rde if name == "rde" else self.pmt_area
        if not np.isfinite(seen).any():
            return known
        if known is None:
            return seen
        first, second = (seen, known) if name == "rde" else (known, seen)
        return np.where(np.isfinite(first), first, second)


def per_dom(block: PulseBlock, matcher: Matcher, n_doms: int,
            response: DomResponse | None = None) -> tuple[np.ndarray, int]:
    """The block's pulses -> signals (B, 2, L): total charge and earliest time per DOM (no hit: 0, inf)."""
    events, pulses = block.events, block.pulses
    keep = np.isin(pulses[:, 0].astype(np.int64), events)  # a filter may leave gaps in the event range
    pulses = pulses[keep]
    order = np.argsort(events, kind="stable")  # events in any order: each pulse's row by its event number
    row = order[np.searchsorted(events[order], pulses[:, 0].astype(np.int64))]
    dom = matcher(pulses[:, 1:4])
    npe = np.zeros((len(events), n_doms))
    time = np.full((len(events), n_doms), np.inf)
    np.add.at(npe, (row, dom), pulses[:, 5])
    np.minimum.at(time, (row, dom), pulses[:, 4])
    if response is not None:
        response.update(dom, pulses)
    return np.stack([npe, time], axis=1).astype(np.float32), len(pulses)


def pulses_to_file(blocks: Iterable[PulseBlock], out: Path, geometry: Geometry, matcher: Matcher, attrs: dict[str, Any], *,
                   id_columns: tuple[str, ...] = (), overwrite: bool = False,
                   progress: Callable[[int], None] | None = None) -> ConversionSummary:
    """Write the blocks' events to ``out`` (all or nothing: a failure leaves no file), with their
    identities (``event_no`` then ``id_columns``) as the file's event_ids."""
    started = time.perf_counter()
    n_pulses = 0
    response = DomResponse.unknown(geometry.n_doms)
    with EventWriter(out, geometry, attrs=attrs, overwrite=overwrite, id_columns=(EVENT_NO, *id_columns)) as writer:
        for block in blocks:
            signals, used = per_dom(block, matcher, geometry.n_doms, response)
            writer.append(signals, block.labels.astype(np.float32), ids=block.identities())
            n_pulses += used
            if progress is not None:
                progress(writer.count)
        for name, known in (("rde", geometry.efficiency), ("pmt_area", geometry.pmt_area)):
            values = response.merged(known, name)
            if values is not None:
                writer.set_response(name, values)
        count = writer.count
        path = writer.finish()
    return ConversionSummary(path, count, time.perf_counter() - started, pulses=n_pulses)
