"""Physics observables of events, computed in blocks (bounded memory).

Per event (IceCube-flavoured high-level observables): hit-DOM count, total charge, charge-weighted
centre of gravity, first-hit time, time spread, charge-weighted mean time after the first hit,
largest per-string charge fraction, and a LineFit (charge-weighted least squares of DOM position
against hit time; IceCube's first-guess track reconstruction) with its direction and speed, and its
angle to the labelled direction. Per DOM: the hit probability of every DOM, and samples of the npe of
hit DOMs and of hit times relative to the event's first hit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from genesis_cli.engine.data.eventfile import EventFile
from genesis_cli.engine.detector.directions import travel_direction

#: name -> (label, unit) of the high-level observables, in report order.
HIGH_LEVEL = {
    "n_hit": ("hit DOMs", ""),
    "log10_charge": ("log10 total charge", "log10 PE"),
    "cog_x": ("charge CoG x", "m"),
    "cog_y": ("charge CoG y", "m"),
    "cog_z": ("charge CoG z", "m"),
    "first_time": ("first-hit time", "ns"),
    "time_spread": ("hit-time spread", "ns"),
    "mean_delay": ("charge-weighted mean time after first hit", "ns"),
    "max_string_fraction": ("largest string charge fraction", ""),
    "linefit_cos_zenith": ("LineFit cos zenith", ""),
    "linefit_speed": ("LineFit speed", "m/ns"),
}
SAMPLE_PER_BLOCK = 20_000


@dataclass
class Observables:
    """Observables of one file (or part of one)."""

    high: dict[str, np.ndarray]  # name -> (N,)
    labels: np.ndarray  # (N, 6)
    dom_hit_rate: np.ndarray  # (L,)
    string_charge: np.ndarray  # (S,) mean charge per string (for the top view)
    npe_sample: np.ndarray
    delay_sample: np.ndarray
    low_level: np.ndarray = field(repr=False)  # (M, 2L) float32 for the classifier, M <= low_level_limit
    linefit_angle: np.ndarray = field(default_factory=lambda: np.empty(0))  # (N,) degrees to labelled direction

    def matrix(self) -> np.ndarray:
        """(N, K) high-level observables in HIGH_LEVEL order."""
        return np.stack([self.high[name] for name in HIGH_LEVEL], axis=1)


def block_observables(signals: np.ndarray, positions: np.ndarray, string_of_dom: np.ndarray | None,
                      n_strings: int) -> dict[str, np.ndarray]:
    """High-level observables of a block of events (B, 2, L); NaN where undefined (no hits)."""
    npe = signals[:, 0].astype(np.float64)
    time = signals[:, 1].astype(np.float64)
    hit = (npe > 0) & np.isfinite(time)
    npe = np.where(hit, npe, 0.0)
    t = np.where(hit, time, 0.0)
    n_hit = hit.sum(axis=1).astype(np.float64)
    charge = npe.sum(axis=1)
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
        r_bar = cog
        dt = np.where(hit, t - t_bar[:, None], 0.0)
        velocity = np.einsum("bl,kl->bk", npe * dt, positions) - r_bar * (npe * dt).sum(axis=1)[:, None]
        velocity /= (npe * dt * dt).sum(axis=1)[:, None]
        speed = np.linalg.norm(velocity, axis=1)
        cos_zenith = -velocity[:, 2] / speed  # the direction the particle comes from is -v
    return {"n_hit": n_hit, "log10_charge": np.log10(np.where(charge > 0, charge, np.nan)),
            "cog_x": cog[:, 0], "cog_y": cog[:, 1], "cog_z": cog[:, 2], "first_time": first,
            "time_spread": np.where(n_hit > 0, spread, np.nan), "mean_delay": mean_delay,
            "max_string_fraction": max_fraction, "linefit_cos_zenith": cos_zenith, "linefit_speed": speed,
            "_velocity": velocity}


def low_level_features(signals: np.ndarray) -> np.ndarray:
    """(B, 2L) per-DOM features for the classifier: log1p(npe), log1p(time after first hit) of hits."""
    npe = signals[:, 0].astype(np.float64)
    time = signals[:, 1].astype(np.float64)
    hit = (npe > 0) & np.isfinite(time)
    first = np.where(hit, time, np.inf).min(axis=1, keepdims=True)
    delay = np.where(hit, np.log1p(np.clip(time - np.where(np.isfinite(first), first, 0.0), 0, None)), 0.0)
    return np.concatenate([np.log1p(np.where(hit, npe, 0.0)), delay], axis=1).astype(np.float32)


def file_observables(path, *, low_level_limit: int, seed: int = 0) -> Observables:  # type: ignore[no-untyped-def]
    """Observables of every event of an event file."""
    rng = np.random.default_rng(seed)
    with EventFile(path) as events:
        positions = events.geometry.positions
        layout = events.geometry.strings
        string_of_dom = layout.string_of_dom if layout is not None else None
        n_strings = layout.n_strings if layout is not None else 1
        parts: list[dict[str, np.ndarray]] = []
        hits = np.zeros(events.n_doms)
        string_charge = np.zeros(n_strings)
        npe_samples, delay_samples, low = [], [], []
        low_count = 0
        block = events.reading_block()
        for start in range(0, events.n_events, block):
            raw = events.signals(start, min(start + block, events.n_events))
            parts.append(block_observables(raw, positions, string_of_dom, n_strings))
            hit = (raw[:, 0] > 0) & np.isfinite(raw[:, 1])
            hits += hit.sum(axis=0)
            if string_of_dom is not None:
                np.add.at(string_charge, string_of_dom, np.where(hit, raw[:, 0], 0).sum(axis=0))
            first = np.where(hit, raw[:, 1], np.inf).min(axis=1, keepdims=True)
            values, delays = raw[:, 0][hit], (raw[:, 1] - first)[hit]
            keep = rng.permutation(values.size)[:SAMPLE_PER_BLOCK]
            npe_samples.append(values[keep])
            delay_samples.append(delays[keep])
            if low_count < low_level_limit:
                take = raw[: low_level_limit - low_count]
                low.append(low_level_features(take))
                low_count += len(take)
        labels = events.labels()
        n = events.n_events
    high = {name: np.concatenate([p[name] for p in parts]) for name in HIGH_LEVEL}
    velocity = np.concatenate([p["_velocity"] for p in parts])
    with np.errstate(invalid="ignore"):
        along = velocity / np.linalg.norm(velocity, axis=1, keepdims=True)  # LineFit velocity: the travel direction
        angle = np.degrees(np.arccos(np.clip((along * travel_direction(labels[:, 1], labels[:, 2])).sum(axis=1), -1, 1)))
    return Observables(high, labels, hits / n, string_charge / n, np.concatenate(npe_samples),
                       np.concatenate(delay_samples), np.concatenate(low) if low else np.empty((0, 0), np.float32),
                       angle)
