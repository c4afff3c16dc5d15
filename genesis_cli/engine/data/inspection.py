"""What is in an event file, and is it ready for training? The engine of ``genesis inspect-data``.

One pass over the file in whole blocks (bounded memory): per-event hit counts, per-DOM hit
rates, charge and time samples (reservoir-sampled), and every value that would break training.
Structural defects (not HDF5, missing or mis-shaped datasets) raise DataError from EventFile;
value defects are collected as ``problems`` (blocking) or ``warnings`` (worth knowing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genesis_cli.engine.data.eventfile import (
    INTERRUPTED_NOTE,
    LABEL_COLUMNS,
    LABEL_UNITS,
    DatasetInfo,
    EventFile,
    EventIds,
)
from genesis_cli.engine.detector.noise import NoiseAccumulator, NoiseEstimate

QUANTILES = (0.0, 0.05, 0.5, 0.95, 1.0)
SAMPLE_SIZE = 200_000
MIN_EVENTS_TO_TRAIN = 100
NOISE_EVENTS = 20_000  # events the dark-noise estimate reads (1,000 give the rates to ~1%)


@dataclass
class DetectorSummary:
    """The detector as derived from the geometry."""

    n_doms: int
    n_strings: int | None
    doms_per_string: tuple[int, int] | None  # (min, max)
    string_spacing_m: float | None  # median nearest-neighbour distance between strings
    extent_m: dict[str, tuple[float, float]]
    rde_range: tuple[float, float] | None = None  # min, max of the file's rde (None: not stored)
    pmt_area_range_m2: tuple[float, float] | None = None


@dataclass
class IdentitySummary:
    """The file's event_ids: which columns, the event_no range, how many event numbers repeat."""

    columns: tuple[str, ...]
    event_no_range: tuple[int, int] | None
    repeated_event_no: int


@dataclass
class Inspection:
    """Everything ``inspect-data`` reports; ``to_dict()`` is its JSON form."""

    path: Path
    file_size_bytes: int
    datasets: list[DatasetInfo]
    n_events: int
    detector: DetectorSummary
    attributes: dict[str, Any]
    hits_per_event: np.ndarray  # (N,) DOMs with npe > 0
    dom_hit_rate: np.ndarray  # (L,) fraction of events in which each DOM is hit
    npe_sample: np.ndarray  # npe of hit DOMs (reservoir sample)
    time_sample: np.ndarray  # finite hit times, ns (reservoir sample)
    time_range_ns: tuple[float, float] | None
    nonfinite_time_share: float  # of all DOM entries
    labels: np.ndarray  # (N, 6)
    identities: IdentitySummary | None = None
    noise: NoiseEstimate | None = None  # dark noise measured from the hits before any light could arrive
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.problems

    def quantiles(self, values: np.ndarray) -> dict[str, float]:
        if values.size == 0:
            return {}
        return {f"q{int(q * 100):02d}": float(v) for q, v in zip(QUANTILES, np.quantile(values, QUANTILES))}

    def label_ranges(self) -> list[dict[str, Any]]:
        rows = []
        for i, (name, unit) in enumerate(zip(LABEL_COLUMNS, LABEL_UNITS)):
            column = self.labels[:, i]
            finite = column[np.isfinite(column)]
            rows.append({"name": name, "unit": unit,
                         "min": float(finite.min()) if finite.size else math.nan,
                         "median": float(np.median(finite)) if finite.size else math.nan,
                         "max": float(finite.max()) if finite.size else math.nan})
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "file_size_bytes": self.file_size_bytes,
            "n_events": self.n_events,
            "n_doms": self.detector.n_doms,
            "datasets": [vars(d) for d in self.datasets],
            "detector": vars(self.detector),
            "hits_per_event": {**self.quantiles(self.hits_per_event),
                               "mean": float(self.hits_per_event.mean())},
            "npe_of_hits": self.quantiles(self.npe_sample),
            "hit_time_range_ns": self.time_range_ns,
            "nonfinite_time_share": self.nonfinite_time_share,
            "labels": self.label_ranges(),
            "event_ids": vars(self.identities) if self.identities else None,
            "dark_noise": self.noise.to_dict() if self.noise else None,
            "attributes": self.attributes,
            "problems": self.problems,
            "warnings": self.warnings,
            "ready_for_training": self.ready,
        }


class _Reservoir:
    """Uniform sample of at most ``size`` values from a stream: keep the values with the ``size``
    smallest random keys (bottom-k sampling), deterministic by seed."""

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.values = np.empty(0)
        self.keys = np.empty(0)
        self.rng = np.random.default_rng(seed)

    def add(self, values: np.ndarray) -> None:
        if values.size == 0:
            return
        values = np.concatenate([self.values, values.astype(np.float64)])
        keys = np.concatenate([self.keys, self.rng.random(values.size - self.values.size)])
        if values.size > self.size:
            keep = np.argpartition(keys, self.size)[:self.size]
            values, keys = values[keep], keys[keep]
        self.values, self.keys = values, keys


def inspect_file(path: Path) -> Inspection:
    """Read the whole file once and judge it."""
    with EventFile(path) as events:
        n, n_doms = events.n_events, events.n_doms
        hits_per_event = np.zeros(n, dtype=np.int64)
        dom_hits = np.zeros(n_doms, dtype=np.int64)
        npe_sample, time_sample = _Reservoir(SAMPLE_SIZE, 0), _Reservoir(SAMPLE_SIZE, 1)
        t_min, t_max = math.inf, -math.inf
        nonfinite_time = negative_npe = nan_npe = inf_npe = hits_without_time = 0
        first_bad_event: int | None = None
        block = events.reading_block()
        labels = events.labels()
        accumulator = NoiseAccumulator(events.geometry)  # dark noise from the first NOISE_EVENTS events
        for start in range(0, n, block):
            raw = events.signals(start, min(start + block, n))
            if start < NOISE_EVENTS:
                stop = min(start + raw.shape[0], NOISE_EVENTS)
                accumulator.add(raw[:stop - start], labels[start:stop])
            npe, time = raw[:, 0], raw[:, 1]
            bad = ~((npe >= 0) & np.isfinite(npe))  # NaN and +inf too (inf >= 0 holds)
            if bad.any():
                negative_npe += int((npe < 0).sum())
                nan_npe += int(np.isnan(npe).sum())
                inf_npe += int(np.isposinf(npe).sum())
                first_bad_event = first_bad_event if first_bad_event is not None else \
                    start + int(np.argwhere(bad)[0][0])
            hit = (npe > 0) & np.isfinite(npe)
            finite = np.isfinite(time)
            nonfinite_time += int((~finite).sum())
            hits_without_time += int((hit & ~finite).sum())
            hits_per_event[start:start + raw.shape[0]] = hit.sum(axis=1)
            dom_hits += hit.sum(axis=0)
            npe_sample.add(npe[hit])
            hit_times = time[hit & finite]
            time_sample.add(hit_times)
            if hit_times.size:
                t_min, t_max = min(t_min, float(hit_times.min())), max(t_max, float(hit_times.max()))
        layout = events.geometry.strings
        detector = DetectorSummary(
            n_doms=n_doms,
            n_strings=layout.n_strings if layout else None,
            doms_per_string=(int(layout.doms_per_string.min()), int(layout.doms_per_string.max()))
            if layout else None,
            string_spacing_m=float(np.median(layout.nearest_string_distances())) if layout else None,
            extent_m=events.geometry.extent,
            rde_range=_range(events.geometry.efficiency),
            pmt_area_range_m2=_range(events.geometry.pmt_area),
        )
        identities = _identities(events.ids())
        noise = accumulator.result()
        report = Inspection(
            path=Path(path), file_size_bytes=Path(path).stat().st_size, datasets=events.dataset_info(),
            n_events=n, detector=detector, attributes=events.attributes(),
            hits_per_event=hits_per_event, dom_hit_rate=dom_hits / n,
            npe_sample=npe_sample.values, time_sample=time_sample.values,
            time_range_ns=(t_min, t_max) if math.isfinite(t_min) else None,
            nonfinite_time_share=nonfinite_time / (n * n_doms), labels=labels, identities=identities, noise=noise,
        )
    _judge(report, (negative_npe, nan_npe, inf_npe), first_bad_event, hits_without_time)
    return report


def _range(values: np.ndarray | None) -> tuple[float, float] | None:
    finite = values[np.isfinite(values)] if values is not None else np.empty(0)
    return (float(finite.min()), float(finite.max())) if finite.size else None


def _identities(ids: EventIds | None) -> IdentitySummary | None:
    if ids is None:
        return None
    numbers = ids.column("event_no")
    if numbers is None or not len(numbers):
        return IdentitySummary(ids.columns, None, 0)
    return IdentitySummary(ids.columns, (int(numbers.min()), int(numbers.max())), len(numbers) - len(np.unique(numbers)))


def _judge(report: Inspection, bad_npe: tuple[int, int, int], first_bad_event: int | None,
           hits_without_time: int) -> None:
    """Fill ``problems`` (training would fail or be wrong) and ``warnings``; ``bad_npe`` counts
    negative, NaN and infinite npe values."""
    p, w = report.problems, report.warnings
    if any(bad_npe):
        p.append(f"input: {bad_npe[0]} negative, {bad_npe[1]} NaN and {bad_npe[2]} infinite npe values (first in "
                 f"event {first_bad_event}); npe must be finite and >= 0")
    labels = report.labels
    nonfinite = ~np.isfinite(labels)
    for i, name in enumerate(LABEL_COLUMNS):
        if nonfinite[:, i].any():
            p.append(f"label: {int(nonfinite[:, i].sum())} non-finite {name} value(s) "
                     f"(first in event {int(np.argwhere(nonfinite[:, i])[0][0])})")
    energy = labels[:, 0]
    if (energy[np.isfinite(energy)] <= 0).any():
        p.append(f"label: {int((energy <= 0).sum())} energies <= 0 GeV; energies must be positive (linear GeV)")
    zenith = labels[:, 1][np.isfinite(labels[:, 1])]
    if zenith.size and (zenith.min() < -1e-6 or zenith.max() > math.pi + 1e-6):
        unit = " (they look like degrees)" if zenith.max() <= 180 and zenith.max() > 2 * math.pi else ""
        p.append(f"label: zenith spans {zenith.min():.3g}..{zenith.max():.3g}; expected radians in "
                 f"[0, pi]{unit}")
    azimuth = labels[:, 2][np.isfinite(labels[:, 2])]
    if azimuth.size and (azimuth.min() < -1e-6 or azimuth.max() > 2 * math.pi + 1e-6):
        w.append(f"label: azimuth spans {azimuth.min():.3g}..{azimuth.max():.3g}; expected radians in [0, 2 pi]")
    w.extend(_degenerate_labels(labels))
    if report.hits_per_event.max(initial=0) == 0:
        p.append("input: no event has a hit DOM (npe > 0); nothing to learn from")
    empty = int((report.hits_per_event == 0).sum())
    if empty:
        w.append(f"input: {empty} event(s) without any hit DOM")
    if hits_without_time:
        w.append(f"input: {hits_without_time} hit DOM(s) with npe > 0 but a non-finite time; "
                 "their time becomes data.replace_time_inf_with")
    if report.attributes.get("interrupted"):
        w.append(f"file: {INTERRUPTED_NOTE}")
    if report.identities is not None and report.identities.repeated_event_no:
        w.append(f"event_ids: {report.identities.repeated_event_no} event(s) repeat an earlier event_no "
                 "(labels reused, or files joined); export numbers such events by their index")
    if report.n_events < MIN_EVENTS_TO_TRAIN:
        w.append(f"only {report.n_events} events; a model needs many more to learn from")


def _degenerate_labels(labels: np.ndarray) -> list[str]:
    """Warnings for label columns that never vary: a model cannot learn a condition it never sees change
    (a constant energy; an all-zero vertex, as files written without truth information have)."""
    if len(labels) < 2:
        return []
    constant = [i for i in range(labels.shape[1])
                if np.isfinite(labels[:, i]).all() and np.ptp(labels[:, i]) == 0]
    out = []
    vertex = [i for i in constant if LABEL_COLUMNS[i] in ("x", "y", "z")]
    if len(vertex) == 3 and not labels[0, vertex].any():
        out.append("label: the vertex (x, y, z) is 0 in every event; a model cannot learn a condition that never "
                   "varies (were the vertices written?)")
        constant = [i for i in constant if i not in vertex]
    for i in constant:
        out.append(f"label: {LABEL_COLUMNS[i]} is {labels[0, i]:g} {LABEL_UNITS[i]} in every event; a model cannot "
                   "learn a condition that never varies")
    return out
