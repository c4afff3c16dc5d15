"""Dark noise as the detector makes it, measured from an event file.

Dark noise does not depend on the event: each DOM fires at its own rate (IceCube: ~560 Hz, ~780 Hz
for high-QE DOMs; shared/notes/physics.md), uniformly over the readout window. A file's hits mix
that noise with the event's light, but light cannot reach a DOM before it could travel there from
the vertex: no light arrives at a DOM a distance d from the vertex before t0 + d / c, c the speed of
light in vacuum (a muon runs at c, and light in ice is slower). Every hit before that bound is
noise, and the time from the readout's start to the bound is each DOM's noise exposure, so

    rate = (first hits before the bound) / (summed exposure), per DOM type (relative efficiency),

to second order in rate x exposure (a DOM shows one first hit however many noise hits it had: the
expected count is sum(1 - exp(-r T_i)) ~ r S1 - r^2 S2 / 2, S1 = sum T_i, S2 = sum T_i^2).

The interaction time t0 is not a label: it is bounded from above by the event's bright hits
(>= ``BRIGHT_PE``, which noise almost never reaches), t0 <= t_i - d_i / c, and the bound is pulled in
by ``MARGIN_NS`` more, so light never counts as noise. A bright DOM's first hit can still be an
earlier noise hit (bright events light hundreds of DOMs, and ~0.2% of them saw noise first), which
would put t0 microseconds early and lose that hit; so t0 is the earliest bound that has others of
the event's light within ``CLUSTER_NS`` after it (light arrives together, noise does not), passing
over up to ``MAX_PASSED_OVER`` isolated ones. ``causal_bounds`` does this for a batch at once. The readout's start and end are the file's
earliest and latest hit times (with thousands of noise hits per file, within nanoseconds).

Only a DOM's first hit is stored, so a noise hit after the event's light is invisible; the
exposure before the bound is unaffected (a first hit there is noise by construction).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from genesis_cli.engine.data.eventfile import EventFile
from genesis_cli.engine.detector.geometry import Geometry

SPEED_OF_LIGHT_M_PER_NS = 0.299792458
#: A hit of this many PE is light: one dark-noise photoelectron (charge resolution ~30%) almost never reaches it.
BRIGHT_PE = 2.5
#: The causal bound is pulled this much earlier (timing jitter, the rounding of t0).
MARGIN_NS = 20.0
#: Light of one event: the bounds t_i - d_i / c of its bright DOMs lie within this of each other.
CLUSTER_NS = 1000.0
#: Bright DOMs passed over as noise-first before an event's interaction time is taken as found.
MAX_PASSED_OVER = 3
#: Noise-hit charges kept (their distribution is what generated noise hits draw from).
CHARGE_SAMPLE = 100_000
#: DOM types: DOMs whose relative efficiencies round to the same value at this many decimals.
TYPE_DECIMALS = 2


@dataclass(frozen=True)
class NoiseEstimate:
    """Dark-noise rates measured from a file.

    Attributes:
        efficiencies: (T,) relative efficiency of each DOM type (1.0: standard; 1.35: high-QE).
        rates_hz: (T,) noise rate of one DOM of each type, Hz.
        errors_hz: (T,) Poisson standard error of each rate.
        counts: (T,) noise hits counted.
        exposure_s: (T,) summed DOM exposure, seconds.
        window_ns: (start, end) of the readout window, ns.
        dom_type: (L,) index into the types of each DOM.
        events_used: events with a bright hit (the others give no t0 bound).
    """

    efficiencies: np.ndarray
    rates_hz: np.ndarray
    errors_hz: np.ndarray
    counts: np.ndarray
    exposure_s: np.ndarray
    window_ns: tuple[float, float]
    dom_type: np.ndarray
    events_used: int

    @property
    def per_dom_hz(self) -> np.ndarray:
        """(L,) the noise rate of each DOM (its type's)."""
        return self.rates_hz[self.dom_type]

    @property
    def hits_per_event(self) -> float:
        """Expected noise hits per event over the whole detector and window."""
        return float(self.per_dom_hz.sum() * (self.window_ns[1] - self.window_ns[0]) * 1e-9)

    def to_dict(self) -> dict[str, object]:
        """The JSON form (inspect-data --json)."""
        return {"rates_hz": {f"{eff:g}": float(rate) for eff, rate in zip(self.efficiencies, self.rates_hz)},
                "errors_hz": {f"{eff:g}": float(error) for eff, error in zip(self.efficiencies, self.errors_hz)},
                "noise_hits": [int(c) for c in self.counts], "window_ns": list(self.window_ns),
                "hits_per_event": self.hits_per_event, "events_used": self.events_used}

    def describe(self) -> str:
        """One line: the rates per DOM type with errors, and what they add up to."""
        parts = [f"{rate:,.0f} ± {error:,.0f} Hz" + ("" if abs(eff - 1.0) < 1e-9 else f" (rde {eff:g})")
                 for eff, rate, error in zip(self.efficiencies, self.rates_hz, self.errors_hz)]
        start, end = self.window_ns
        return (f"{' · '.join(parts)} per DOM; {self.hits_per_event:.1f} noise hits per event over "
                f"{start:,.0f} .. {end:,.0f} ns ({self.events_used:,} events)")


def dom_types(geometry: Geometry) -> tuple[np.ndarray, np.ndarray]:
    """(T,) the distinct relative efficiencies and (L,) each DOM's index into them."""
    rounded = np.round(geometry.relative_efficiency, TYPE_DECIMALS)
    efficiencies, index = np.unique(rounded, return_inverse=True)
    return efficiencies, index.ravel()


def causal_bounds(signals: np.ndarray, labels: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """(B, L) the time before which no light of each event reaches each DOM (ns); +inf for a whole
    event without a bright hit (nothing is known, so nothing counts as noise: see the module docstring).

    signals: (B, 2, L) physical [npe, time ns]; labels: (B, 6) physical; positions: (3, L) metres.
    """
    npe, time = signals[:, 0].astype(np.float64), signals[:, 1].astype(np.float64)
    delay = np.linalg.norm(positions.T[None] - labels[:, None, 3:6], axis=2) / SPEED_OF_LIGHT_M_PER_NS  # (B, L)
    bright = (npe >= BRIGHT_PE) & np.isfinite(time)
    values = np.where(bright, time - delay, np.inf)  # each bright DOM's bound on t0
    n_bright = bright.sum(axis=1)
    depth = min(MAX_PASSED_OVER + 3, values.shape[1])  # each candidate and the two bounds after it
    ordered = np.sort(np.partition(values, depth - 1, axis=1)[:, :depth], axis=1)  # (B, depth) earliest bright bounds
    candidates = ordered[:, :MAX_PASSED_OVER + 1]  # (B, K)
    needed = np.minimum(2, n_bright - 1)[:, None]
    followers = np.zeros(candidates.shape, dtype=np.int64)
    for step in (1, 2):  # the bounds right after a candidate are its followers when within CLUSTER_NS
        after = np.full(candidates.shape, np.inf)
        width = min(candidates.shape[1], ordered.shape[1] - step)
        after[:, :width] = ordered[:, step:step + width]
        followers += after <= candidates + CLUSTER_NS
    clustered = (followers >= needed) & np.isfinite(candidates)
    chosen = np.where(clustered.any(axis=1), clustered.argmax(axis=1), 0)  # none clustered: the earliest bounds
    t0 = candidates[np.arange(len(candidates)), chosen]
    return t0[:, None] + delay - MARGIN_NS


def _rate(count: float, s1: float, s2: float) -> float:
    """The rate r with r s1 - r^2 s2 / 2 = count (the smaller root; count / s1 to first order)."""
    if s1 <= 0:
        return 0.0
    if s2 <= 0:
        return count / s1
    disc = s1 * s1 - 2.0 * s2 * count
    return (s1 - math.sqrt(disc)) / s2 if disc > 0 else count / s1


class NoiseAccumulator:
    """Collects what the estimate needs in one pass over a file's events (estimate_noise, inspect-data).

    Exposure depends on the readout window's start, known only at the end; so each DOM's causal bound
    is kept as a 1-ns histogram per DOM type (bounded memory for any number of events) around the
    first event's interaction time, and summed against the window at the end.
    """

    HALF_RANGE_NS = 200_000  # bounds this far from the first event's interaction time lie outside any window

    def __init__(self, geometry: Geometry) -> None:
        self.positions = geometry.positions.T  # (L, 3)
        self.efficiencies, self.dom_type = dom_types(geometry)
        n_types = len(self.efficiencies)
        self.counts = np.zeros(n_types)
        self.histogram = np.zeros(2 * self.HALF_RANGE_NS * n_types)  # (bin, type) flattened
        self.reference: float | None = None
        self.start, self.end = math.inf, -math.inf
        self.events_used = 0
        self.charges: list[np.ndarray] = []  # npe of the noise hits counted (up to CHARGE_SAMPLE)

    def add(self, signals: np.ndarray, labels: np.ndarray) -> None:
        """Events (B, 2, L) with their labels (B, 6)."""
        npe, t = signals[:, 0].astype(np.float64), signals[:, 1].astype(np.float64)
        hit = (npe > 0) & np.isfinite(t)
        if hit.any():
            self.start, self.end = min(self.start, float(t[hit].min())), max(self.end, float(t[hit].max()))
        bounds = causal_bounds(signals, labels, self.positions.T)  # (B, L); +inf rows: no bright hit
        used = np.flatnonzero(np.isfinite(bounds[:, 0]))
        if not used.size:
            return
        bound = bounds[used]  # (U, L): no light before this
        early = hit[used] & (t[used] < bound)
        self.counts += np.bincount(np.broadcast_to(self.dom_type, early.shape)[early], minlength=len(self.efficiencies))
        if sum(len(c) for c in self.charges) < CHARGE_SAMPLE:
            self.charges.append(npe[used][early & (npe[used] < BRIGHT_PE)])  # brighter: light on a noise-first DOM
        if self.reference is None:
            self.reference = float(bound[0].min())
        index = np.clip(np.floor(bound - self.reference).astype(np.int64) + self.HALF_RANGE_NS, 0, 2 * self.HALF_RANGE_NS - 1)
        n_types = len(self.efficiencies)
        self.histogram += np.bincount((index * n_types + self.dom_type).ravel(), minlength=self.histogram.size)
        self.events_used += len(used)

    def noise_charges(self) -> np.ndarray:
        """The charges (PE) of the noise hits counted (up to CHARGE_SAMPLE and one block more)."""
        return np.concatenate(self.charges) if self.charges else np.empty(0)

    def result(self, window: tuple[float, float] | None = None) -> NoiseEstimate | None:
        """The estimate (None: no event with a bright hit); ``window`` defaults to the hits' earliest and latest time."""
        if not self.events_used or self.reference is None:
            return None
        start, end = window or (self.start, self.end)
        n_types = len(self.efficiencies)
        centres = self.reference + np.arange(2 * self.HALF_RANGE_NS) - self.HALF_RANGE_NS + 0.5  # (bins,) ns
        open_ns = np.clip(centres - start, 0.0, end - start)
        per_type = self.histogram.reshape(-1, n_types)  # (bins, T) DOM-events
        exposure_s = (open_ns @ per_type) * 1e-9
        squares_s2 = ((open_ns ** 2) @ per_type) * 1e-18
        rates = np.array([_rate(c, s1, s2) for c, s1, s2 in zip(self.counts, exposure_s, squares_s2)])
        errors = np.divide(np.sqrt(self.counts), exposure_s, out=np.zeros_like(self.counts), where=exposure_s > 0)
        return NoiseEstimate(self.efficiencies, rates, errors, self.counts.copy(), exposure_s, (start, end),
                             self.dom_type, self.events_used)


def estimate_noise(events: EventFile, *, max_events: int | None = None) -> NoiseEstimate | None:
    """The dark-noise rates of ``events``' detector from its first ``max_events`` events (None: all), or
    None when no event has a bright hit."""
    n = events.n_events if max_events is None else min(max_events, events.n_events)
    accumulator = NoiseAccumulator(events.geometry)
    labels = events.labels(0, n)
    block = events.reading_block()
    for first in range(0, n, block):
        stop = min(first + block, n)
        accumulator.add(events.signals(first, stop), labels[first:stop])
    return accumulator.result()
