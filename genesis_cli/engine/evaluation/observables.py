"""Physics observables of events, computed in blocks (bounded memory).

Per event, two kinds:
- event observables (IceCube-flavoured high-level features of the hits alone): hit-DOM count, total
  charge, charge-weighted centre of gravity (CoG), first-hit time, charge-weighted mean hit time
  (absolute, so a global time shift shows), time spread, charge-weighted mean time after the first
  hit, largest per-string charge fraction, and a LineFit (charge-weighted least squares of DOM
  position against hit time; IceCube's first-guess track reconstruction) with its zenith and speed;
- label-aware observables, which relate the hits to the event's labels, so that events paired
  with the wrong labels stand out: the CoG's distance to the labelled vertex and its offset along
  the labelled direction, the charge fraction near the vertex, the LineFit's angle to the labelled
  direction, and the light onset at the vertex: the median direct-light time residual
  t - |r_DOM - r_vertex| / c_ice of the three brightest DOMs (a point-source hypothesis; its core
  is a few ns wide on simulation, so a 20 ns shift of the hit times is plain).
Per DOM: the hit probability of every DOM; samples of the npe, the absolute time and the time after
the event's first hit of hit DOMs; and, for the per-DOM classifier, each hit's npe and direct-light
time residual relative to the labelled vertex.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genesis_cli.engine.data.eventfile import EventFile
from genesis_cli.engine.detector import Geometry
from genesis_cli.engine.detector.directions import travel_direction
from genesis_cli.engine.detector.propagation import C_ICE_M_PER_NS, cascade_delay_ns

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
    "near_charge_fraction": ("charge fraction within 150 m of the vertex", ""),
    "linefit_angle": ("LineFit angle to the labelled direction", "deg"),
    "onset_time": ("light onset at the vertex (direct-light residual)", "ns"),
}
SAMPLE_PER_BLOCK = 20_000
NEAR_VERTEX_M = 150.0
ONSET_BRIGHTEST = 3  # DOMs whose direct-light residuals give the onset


@dataclass
class Observables:
    """Observables of one file (or part of one)."""

    high: dict[str, np.ndarray]  # name -> (N,), HIGH_LEVEL and LABEL_AWARE names
    labels: np.ndarray  # (N, 6)
    dom_hit_rate: np.ndarray  # (L,)
    string_charge: np.ndarray  # (S,) mean charge per string (for the top view)
    npe_sample: np.ndarray
    delay_sample: np.ndarray
    time_sample: np.ndarray  # absolute hit times (ns) of sampled hits
    dom_npe: np.ndarray = field(repr=False)  # (M, L) float32 npe of the first M events (0: no hit)
    dom_residual: np.ndarray = field(repr=False)  # (M, L) float32 direct-light time residual (0: no hit)
    dom_labels: np.ndarray = field(repr=False)  # (M, 6) the labels of those events

    @property
    def linefit_angle(self) -> np.ndarray:
        """(N,) degrees between the LineFit direction and the labelled travel direction."""
        return self.high["linefit_angle"]

    def matrix(self, names: tuple[str, ...] | None = None) -> np.ndarray:
        """(N, K) observables in the given order (default: HIGH_LEVEL)."""
        return np.stack([self.high[name] for name in (names or tuple(HIGH_LEVEL))], axis=1)

    def subset(self, index: np.ndarray) -> Observables:
        """The observables of events ``index`` (per-DOM rows only where they were kept)."""
        kept = index[index < len(self.dom_npe)]
        return Observables({k: v[index] for k, v in self.high.items()}, self.labels[index], self.dom_hit_rate,
                           self.string_charge, self.npe_sample, self.delay_sample, self.time_sample,
                           self.dom_npe[kept], self.dom_residual[kept], self.dom_labels[kept])


def direct_light_residual(time: np.ndarray, labels: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """(B, L) hit time minus the direct-light time from the labelled vertex, t - d / c_ice (ns)."""
    return time - cascade_delay_ns(labels, positions)


def block_observables(signals: np.ndarray, labels: np.ndarray, positions: np.ndarray,
                      string_of_dom: np.ndarray | None, n_strings: int) -> dict[str, np.ndarray]:
    """Observables of a block of events (B, 2, L) with labels (B, 6); NaN where undefined (no hits)."""
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
        along = np.clip(((velocity / speed[:, None]) * travel).sum(axis=1), -1.0, 1.0)
        distance = np.linalg.norm(positions[None, :, :] - vertex[:, :, None], axis=1)  # (B, L)
        near = (npe * (distance <= NEAR_VERTEX_M)).sum(axis=1) / charge
        offset = cog - vertex
    return {"n_hit": n_hit, "log10_charge": np.log10(np.where(charge > 0, charge, np.nan)),
            "cog_x": cog[:, 0], "cog_y": cog[:, 1], "cog_z": cog[:, 2], "first_time": first, "mean_time": t_bar,
            "time_spread": np.where(n_hit > 0, spread, np.nan), "mean_delay": mean_delay,
            "max_string_fraction": max_fraction, "linefit_cos_zenith": cos_zenith, "linefit_speed": speed,
            "cog_vertex_distance": np.linalg.norm(offset, axis=1), "cog_vertex_along": (offset * travel).sum(axis=1),
            "near_charge_fraction": near, "linefit_angle": np.degrees(np.arccos(along)),
            "onset_time": _onset(npe, time - distance / C_ICE_M_PER_NS, hit)}


def _onset(npe: np.ndarray, residual: np.ndarray, hit: np.ndarray) -> np.ndarray:
    """(B,) median direct-light residual of each event's ONSET_BRIGHTEST brightest hit DOMs."""
    k = min(ONSET_BRIGHTEST, npe.shape[1])
    brightest = np.argpartition(-np.where(hit, npe, -1.0), k - 1, axis=1)[:, :k]
    chosen = np.take_along_axis(np.where(hit, residual, np.nan), brightest, axis=1)
    out = np.full(npe.shape[0], np.nan)
    some = np.isfinite(chosen).any(axis=1)
    out[some] = np.nanmedian(chosen[some], axis=1)
    return out


def collect(blocks: Iterator[tuple[np.ndarray, np.ndarray]], geometry: Geometry, *, dom_limit: int,
            seed: int = 0) -> Observables:
    """Observables of events given as blocks of (signals (B, 2, L), labels (B, 6)).

    The per-DOM arrays keep the first ``dom_limit`` events (they cost 8 bytes per DOM per event).
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
    npe_samples, delay_samples, time_samples, dom_npe, dom_residual = [], [], [], [], []
    kept = 0
    for raw, labels in blocks:
        parts.append(block_observables(raw, labels, positions, string_of_dom, n_strings))
        label_parts.append(labels.astype(np.float64))
        hit = (raw[:, 0] > 0) & np.isfinite(raw[:, 1])
        hits += hit.sum(axis=0)
        if string_of_dom is not None:
            np.add.at(string_charge, string_of_dom, np.where(hit, raw[:, 0], 0).sum(axis=0))
        first = np.where(hit, raw[:, 1], np.inf).min(axis=1, keepdims=True)
        values, delays, times = raw[:, 0][hit], (raw[:, 1] - first)[hit], raw[:, 1][hit]
        keep = rng.permutation(values.size)[:SAMPLE_PER_BLOCK]
        npe_samples.append(values[keep])
        delay_samples.append(delays[keep])
        time_samples.append(times[keep])
        if kept < dom_limit:
            take = slice(0, dom_limit - kept)
            taken_hit = hit[take]
            residual = direct_light_residual(raw[take, 1].astype(np.float64), labels[take].astype(np.float64),
                                             positions)
            dom_npe.append(np.where(taken_hit, raw[take, 0], 0.0).astype(np.float32))
            dom_residual.append(np.where(taken_hit, residual, 0.0).astype(np.float32))
            kept += len(taken_hit)
    n = sum(len(p) for p in label_parts)
    empty = np.empty((0, geometry.n_doms), np.float32)
    all_labels = np.concatenate(label_parts) if label_parts else np.empty((0, 6))
    kept_npe = np.concatenate(dom_npe) if dom_npe else empty
    return Observables({name: np.concatenate([p[name] for p in parts]) if parts else np.empty(0)
                        for name in (*HIGH_LEVEL, *LABEL_AWARE)},
                       all_labels, hits / max(n, 1), string_charge / max(n, 1),
                       *(np.concatenate(x) if x else np.empty(0) for x in (npe_samples, delay_samples, time_samples)),
                       kept_npe, np.concatenate(dom_residual) if dom_residual else empty, all_labels[:len(kept_npe)])


def file_observables(path: Path, *, dom_limit: int, seed: int = 0) -> Observables:
    """Observables of every event of an event file."""
    with EventFile(path) as events:
        labels = events.labels()
        block = events.reading_block()
        blocks = ((events.signals(start, min(start + block, events.n_events)),
                   labels[start:start + block]) for start in range(0, events.n_events, block))
        return collect(blocks, events.geometry, dom_limit=dom_limit, seed=seed)
