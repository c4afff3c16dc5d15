"""Physics observables of events, computed in blocks (bounded memory).

Per event, two kinds:
- event observables (IceCube-flavoured high-level features of the hits alone): hit-DOM count, total
  charge, charge-weighted centre of gravity (CoG), first-hit time, charge-weighted mean hit time
  (absolute, so a global time shift shows), time spread, charge-weighted mean time after the first
  hit, largest per-string charge fraction, and a LineFit (charge-weighted least squares of DOM
  position against hit time; IceCube's first-guess track reconstruction) with its zenith and speed;
- label-aware observables, which relate the hits to the event's labels, so that events paired
  with the wrong labels stand out: the CoG's distance to the labelled vertex and its offsets along
  and across the labelled direction, the charge fraction near the vertex, the LineFit's angle to the labelled
  direction, and the light onset at the vertex: the median direct-light time residual
  t - |r_DOM - r_vertex| / c_ice of the three brightest DOMs (a point-source hypothesis; its core
  is a few ns wide on simulation, so a 20 ns shift of the hit times is plain).
Per hit: samples of the npe, the absolute time and the time after the event's first hit of hit DOMs,
each tagged with its event, so that a subset of events keeps exactly its own hits.
Per DOM: the hit probability of every DOM; for the first ``dom_limit`` events, the per-DOM
classifier's image of the hits in the event's own frame (dom_frame.py) and the hits themselves
(DOM, npe, time), which the near-copy search compares. Per event: a hash of its signals, which
finds exact copies in files of any size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genesis_cli.engine.data.eventfile import EventFile
from genesis_cli.engine.detector import Geometry
from genesis_cli.engine.detector.directions import travel_direction
from genesis_cli.engine.detector.propagation import C_ICE_M_PER_NS, light_onset
from genesis_cli.engine.evaluation.dom_frame import CELLS, CHANNELS, frame_image

#: name -> (label, unit) of the event observables, in report order.
HIGH_LEVEL = {
    "n_hit": ("hit DOMs", ""),
    "log10_charge": ("log10 total charge", "log10 PE"),
    "cog_x": ("charge CoG x", "m"),
    "cog_y": ("charge CoG y", "m"),
    "cog_z": ("charge CoG z", "m"),
    "first_time": ("first-hit time", "ns"),
    "mean_time": ("charge-weighted mean hit time", "ns"),
    "time_spread": ("hit-time spread", "ns"),
    "mean_delay": ("charge-weighted mean time after first hit", "ns"),
    "max_string_fraction": ("largest string charge fraction", ""),
    "linefit_cos_zenith": ("LineFit cos zenith", ""),
    "linefit_speed": ("LineFit speed", "m/ns"),
}
#: name -> (label, unit) of the label-aware observables, in report order.
LABEL_AWARE = {
    "cog_vertex_distance": ("CoG distance to the labelled vertex", "m"),
    "cog_vertex_along": ("CoG offset along the labelled direction", "m"),
    "cog_vertex_across": ("CoG offset across the labelled direction", "m"),
    "near_charge_fraction": ("charge fraction within 150 m of the vertex", ""),
    "linefit_angle": ("LineFit angle to the labelled direction", "deg"),
    "linefit_azimuth_offset": ("LineFit azimuth minus the labelled azimuth", "deg"),
    "onset_time": ("light onset at the vertex (direct-light residual)", "ns"),
}
#: Hits sampled per file for the per-hit observables, spread evenly over its events (bounded memory).
HIT_SAMPLES = 250_000
NEAR_VERTEX_M = 150.0


@dataclass(frozen=True)
class HitLists:
    """The hits of M events, event by event (CSR): event i's are [offsets[i], offsets[i + 1])."""

    offsets: np.ndarray  # (M + 1,) int64
    dom: np.ndarray  # (H,) int32 DOM index
    npe: np.ndarray  # (H,) float32
    time: np.ndarray  # (H,) float32 ns

    @classmethod
    def empty(cls) -> HitLists:
        return cls(np.zeros(1, np.int64), np.empty(0, np.int32), np.empty(0, np.float32), np.empty(0, np.float32))

    @classmethod
    def of(cls, npe: np.ndarray, time: np.ndarray, hit: np.ndarray) -> HitLists:
        """From (B, L) npe, time and hit mask."""
        events, dom = np.nonzero(hit)
        offsets = np.concatenate([[0], np.cumsum(np.bincount(events, minlength=hit.shape[0]))])
        return cls(offsets.astype(np.int64), dom.astype(np.int32), npe[events, dom].astype(np.float32),
                   time[events, dom].astype(np.float32))

    @classmethod
    def concatenate(cls, parts: list[HitLists]) -> HitLists:
        if not parts:
            return cls.empty()
        shifts = np.cumsum([0] + [int(p.offsets[-1]) for p in parts[:-1]])
        offsets = np.concatenate([[0]] + [p.offsets[1:] + shift for p, shift in zip(parts, shifts)])
        columns = (np.concatenate([getattr(p, k) for p in parts]) for k in ("dom", "npe", "time"))
        return cls(offsets.astype(np.int64), *columns)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def event(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Event i's (dom, npe, time)."""
        lo, hi = self.offsets[i], self.offsets[i + 1]
        return self.dom[lo:hi], self.npe[lo:hi], self.time[lo:hi]

    def subset(self, index: np.ndarray) -> HitLists:
        """The hits of events ``index``, in that order."""
        starts, counts = self.offsets[index], np.diff(self.offsets)[index]
        take = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts) + np.arange(counts.sum())
        return HitLists(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), self.dom[take], self.npe[take],
                        self.time[take])


@dataclass
class Observables:
    """Observables of one file (or part of one)."""

    high: dict[str, np.ndarray]  # name -> (N,), HIGH_LEVEL and LABEL_AWARE names
    labels: np.ndarray  # (N, 6)
    dom_hit_rate: np.ndarray  # (L,)
    string_charge: np.ndarray  # (S,) mean charge per string (for the top view)
    npe_sample: np.ndarray  # (H,) npe of sampled hits
    delay_sample: np.ndarray  # (H,) their time after their event's first hit (ns)
    time_sample: np.ndarray  # (H,) their absolute time (ns)
    sample_event: np.ndarray  # (H,) the event (row of ``labels``) each sampled hit belongs to
    hashes: np.ndarray  # (N,) uint64 hash of each event's signals: equal only for identical events
    images: np.ndarray = field(repr=False)  # (M, F) per-DOM images of M events (dom_frame.py)
    hits: HitLists = field(repr=False)  # the hits of those M events
    dom_event: np.ndarray = field(repr=False)  # (M,) the event (row of ``labels``) of each image and hit list

    @property
    def linefit_angle(self) -> np.ndarray:
        """(N,) degrees between the LineFit direction and the labelled travel direction."""
        return self.high["linefit_angle"]

    def matrix(self, names: tuple[str, ...] | None = None) -> np.ndarray:
        """(N, K) observables in the given order (default: HIGH_LEVEL)."""
        return np.stack([self.high[name] for name in (names or tuple(HIGH_LEVEL))], axis=1)

    def subset(self, index: np.ndarray) -> Observables:
        """The observables of the distinct events ``index``, in that order, with their per-hit samples
        and, where they were kept, their per-DOM images and hits."""
        index = np.asarray(index, dtype=np.int64)
        position = np.full(len(self.labels), -1, np.int64)
        position[index] = np.arange(len(index))
        sampled, kept = position[self.sample_event] >= 0, np.flatnonzero(position[self.dom_event] >= 0)
        return Observables({k: v[index] for k, v in self.high.items()}, self.labels[index], self.dom_hit_rate,
                           self.string_charge, self.npe_sample[sampled], self.delay_sample[sampled],
                           self.time_sample[sampled], position[self.sample_event[sampled]], self.hashes[index],
                           self.images[kept], self.hits.subset(kept), position[self.dom_event[kept]])


def block_observables(signals: np.ndarray, labels: np.ndarray, positions: np.ndarray,
                      string_of_dom: np.ndarray | None, n_strings: int,
                      image_rows: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Observables of a block of events (B, 2, L) with labels (B, 6), NaN where undefined (no hits),
    and the per-DOM images (dom_frame.py) of its first ``image_rows`` events."""
    npe = signals[:, 0].astype(np.float64)
    time = signals[:, 1].astype(np.float64)
    hit = (npe > 0) & np.isfinite(time)
    npe = np.where(hit, npe, 0.0)
    t = np.where(hit, time, 0.0)
    n_hit = hit.sum(axis=1).astype(np.float64)
    charge = npe.sum(axis=1)
    labels = labels.astype(np.float64)
    vertex = labels[:, 3:6]
    travel = travel_direction(labels[:, 1], labels[:, 2])  # (B, 3)
    with np.errstate(invalid="ignore", divide="ignore"):
        cog = (npe @ positions.T) / charge[:, None]
        first = np.where(hit, time, np.inf).min(axis=1)
        first = np.where(np.isfinite(first), first, np.nan)
        mean_t = (t * hit).sum(axis=1) / n_hit
        spread = np.sqrt(np.maximum(((t - mean_t[:, None]) ** 2 * hit).sum(axis=1) / n_hit, 0.0))
        mean_delay = (npe * (t - first[:, None])).sum(axis=1) / charge
        if string_of_dom is not None:
            per_string = np.zeros((npe.shape[0], n_strings))
            np.add.at(per_string.T, string_of_dom, npe.T)
            max_fraction = per_string.max(axis=1) / charge
        else:
            max_fraction = npe.max(axis=1) / charge
        # LineFit: v = sum q (r - <r>)(t - <t>) / sum q (t - <t>)^2, charge-weighted
        t_bar = (npe * t).sum(axis=1) / charge
        dt = np.where(hit, t - t_bar[:, None], 0.0)
        velocity = np.einsum("bl,kl->bk", npe * dt, positions) - cog * (npe * dt).sum(axis=1)[:, None]
        velocity /= (npe * dt * dt).sum(axis=1)[:, None]
        speed = np.linalg.norm(velocity, axis=1)
        cos_zenith = -velocity[:, 2] / speed  # the direction the particle comes from is -v
        linefit_azimuth = np.arctan2(-velocity[:, 1], -velocity[:, 0])  # of the direction it comes from
        azimuth_offset = np.degrees(np.angle(np.exp(1j * (linefit_azimuth - labels[:, 2]))))  # wrapped to +-180
        along = np.clip(((velocity / speed[:, None]) * travel).sum(axis=1), -1.0, 1.0)
        relative = positions[None, :, :] - vertex[:, :, None]  # (B, 3, L)
        distance = np.linalg.norm(relative, axis=1)  # (B, L)
        near = (npe * (distance <= NEAR_VERTEX_M)).sum(axis=1) / charge
        offset = cog - vertex
        along_offset = (offset * travel).sum(axis=1)
        across_offset = np.linalg.norm(offset - along_offset[:, None] * travel, axis=1)
        rows = slice(0, image_rows)
        cos_angle = (relative[rows] * travel[rows, :, None]).sum(axis=1) / np.maximum(distance[rows], 1e-9)
        image = frame_image(distance[rows], cos_angle, npe[rows], time[rows], hit[rows])
    high = {"n_hit": n_hit, "log10_charge": np.log10(np.where(charge > 0, charge, np.nan)),
            "cog_x": cog[:, 0], "cog_y": cog[:, 1], "cog_z": cog[:, 2], "first_time": first, "mean_time": t_bar,
            "time_spread": np.where(n_hit > 0, spread, np.nan), "mean_delay": mean_delay,
            "max_string_fraction": max_fraction, "linefit_cos_zenith": cos_zenith, "linefit_speed": speed,
            "cog_vertex_distance": np.linalg.norm(offset, axis=1), "cog_vertex_along": along_offset,
            "cog_vertex_across": across_offset,
            "near_charge_fraction": near, "linefit_angle": np.degrees(np.arccos(along)),
            "linefit_azimuth_offset": azimuth_offset,
            "onset_time": light_onset(npe, time - distance / C_ICE_M_PER_NS, hit)}
    return high, image


def event_hashes(signals: np.ndarray) -> np.ndarray:
    """(B,) uint64 hash of each event's signals (B, 2, L): equal exactly when the events are identical."""
    data = np.ascontiguousarray(signals, dtype=np.float32)
    return np.array([int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=8).digest(), "little") for row in data],
                    dtype=np.uint64)


def collect(blocks: Iterator[tuple[np.ndarray, np.ndarray]], geometry: Geometry, *, dom_limit: int,
            seed: int = 0, total_events: int | None = None, hit_samples: int = HIT_SAMPLES) -> Observables:
    """Observables of events given as blocks of (signals (B, 2, L), labels (B, 6)).

    The per-DOM images and hit lists keep the first ``dom_limit`` events; about ``hit_samples`` hits
    are sampled, evenly over ``total_events`` events (None: every hit of every block is kept).
    """
    rng = np.random.default_rng(seed)
    positions = geometry.positions
    layout = geometry.strings
    string_of_dom = layout.string_of_dom if layout is not None else None
    n_strings = layout.n_strings if layout is not None else 1
    parts: list[dict[str, np.ndarray]] = []
    label_parts: list[np.ndarray] = []
    hits = np.zeros(geometry.n_doms)
    string_charge = np.zeros(n_strings)
    samples: list[tuple[np.ndarray, ...]] = []
    images: list[np.ndarray] = []
    hit_lists: list[HitLists] = []
    hashes: list[np.ndarray] = []
    n = kept = 0
    for raw, labels in blocks:
        take = max(0, min(dom_limit - kept, len(raw)))
        high, image = block_observables(raw, labels, positions, string_of_dom, n_strings, image_rows=take)
        parts.append(high)
        label_parts.append(labels.astype(np.float64))
        hashes.append(event_hashes(raw))
        hit = (raw[:, 0] > 0) & np.isfinite(raw[:, 1])
        hits += hit.sum(axis=0)
        if string_of_dom is not None:
            np.add.at(string_charge, string_of_dom, np.where(hit, raw[:, 0], 0).sum(axis=0))
        first = np.where(hit, raw[:, 1], np.inf).min(axis=1, keepdims=True)
        event = np.broadcast_to(np.arange(n, n + len(raw))[:, None], hit.shape)[hit]
        values, delays, times = raw[:, 0][hit], (raw[:, 1] - first)[hit], raw[:, 1][hit]
        share = values.size if total_events is None else int(np.ceil(hit_samples * len(raw) / max(total_events, 1)))
        keep = rng.permutation(values.size)[:share]
        samples.append((values[keep], delays[keep], times[keep], event[keep]))
        if take:
            images.append(image)
            hit_lists.append(HitLists.of(raw[:take, 0], raw[:take, 1], hit[:take]))
        kept += take
        n += len(raw)
    all_labels = np.concatenate(label_parts) if label_parts else np.empty((0, 6))
    columns = [np.concatenate([s[i] for s in samples]) if samples else np.empty(0) for i in range(4)]
    return Observables({name: np.concatenate([p[name] for p in parts]) if parts else np.empty(0)
                        for name in (*HIGH_LEVEL, *LABEL_AWARE)},
                       all_labels, hits / max(n, 1), string_charge / max(n, 1), columns[0], columns[1], columns[2],
                       columns[3].astype(np.int64), np.concatenate(hashes) if hashes else np.empty(0, np.uint64),
                       np.concatenate(images) if images else np.empty((0, CELLS * len(CHANNELS)), np.float32),
                       HitLists.concatenate(hit_lists), np.arange(kept, dtype=np.int64))


def file_observables(path: Path, *, dom_limit: int, seed: int = 0, limit: int | None = None,
                     hit_samples: int = HIT_SAMPLES) -> Observables:
    """Observables of the first ``limit`` (None: every) events of an event file."""
    with EventFile(path) as events:
        n = events.n_events if limit is None else min(limit, events.n_events)
        labels = events.labels(0, n)
        block = events.reading_block()
        blocks = ((events.signals(start, min(start + block, n)), labels[start:start + block])
                  for start in range(0, n, block))
        return collect(blocks, events.geometry, dom_limit=dom_limit, seed=seed, total_events=n, hit_samples=hit_samples)
