"""Dark noise in generated events as the detector makes it, and training targets without it.

A network trained on a file's events learns its light and its dark noise together, and renders the
noise badly (issue 25: noise hits too sparse early in the window). The noise is known physics: an
independent per-DOM rate, uniform over the readout window (noise.py measures it from the file). So a
run may learn the light only: its training targets lose every hit before the causal bound of the
labelled vertex (certain noise; later noise mixes with light and stays in the targets), and each
generated event gets noise hits before its own causal bound, drawn from the measured per-DOM rates,
charges and window: the detector's noise exactly where the network was taught none.

The causal bound of an event (noise.py): t0 + d_i / c - margin for DOM i at distance d_i from the
vertex, t0 bounded by the event's bright hits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from genesis_cli.engine.detector.noise import NoiseEstimate, causal_bounds

CHARGE_QUANTILES = 64


def light_only(signals: np.ndarray, labels: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``signals`` (B, 2, L) without the hits before their event's causal bound (npe 0, time inf)."""
    bound = causal_bounds(signals, labels, positions)
    early = (signals[:, 0] > 0) & (signals[:, 1] < bound) & np.isfinite(bound)
    if not early.any():
        return signals
    out = signals.copy()
    out[:, 0][early] = 0.0
    out[:, 1][early] = np.inf
    return out


@dataclass(frozen=True)
class DarkNoise:
    """The measured dark noise a run adds to its generated events.

    Attributes:
        rates_hz: (L,) each DOM's noise rate.
        window_ns: (start, end) of the readout window.
        charges: (Q,) quantiles of noise-hit charges, PE (a noise hit's charge is drawn from them).
    """

    rates_hz: np.ndarray
    window_ns: tuple[float, float]
    charges: np.ndarray

    @classmethod
    def measured(cls, estimate: NoiseEstimate, charges: np.ndarray) -> DarkNoise:
        """From noise.py's estimate and the charges of the noise hits it counted."""
        quantiles = np.quantile(charges, np.linspace(0, 1, CHARGE_QUANTILES)) if charges.size else np.ones(1)
        return cls(estimate.per_dom_hz.astype(np.float64), estimate.window_ns, quantiles.astype(np.float64))

    def add(self, signals: np.ndarray, labels: np.ndarray, positions: np.ndarray,
            rng: np.random.Generator) -> np.ndarray:
        """Generated events (B, 2, L) with noise hits before their causal bounds, as the detector makes them:
        a DOM open for T ns shows a first noise hit with probability 1 - exp(-r T), at a time drawn from the
        first-arrival distribution over [start, bound), with a charge drawn from the measured ones."""
        start, end = self.window_ns
        bound = np.minimum(causal_bounds(signals, labels, positions), end)
        bound = np.where(np.isfinite(bound), bound, start)  # no bright hit: the targets kept its noise, and so did the network
        open_s = np.clip(bound - start, 0.0, None) * 1e-9  # (B, L)
        rate = self.rates_hz[None, :]
        p_hit = -np.expm1(-rate * open_s)
        fires = rng.uniform(size=p_hit.shape) < p_hit
        event, dom = np.nonzero(fires)
        u = rng.uniform(size=event.size)
        r = rate[0, dom]
        times = start - np.log1p(-u * p_hit[event, dom]) / np.maximum(r, 1e-300) * 1e9  # first arrival, truncated
        charges = np.interp(rng.uniform(size=event.size), np.linspace(0, 1, len(self.charges)), self.charges)
        out = signals.copy()
        was_hit = out[event, 0, dom] > 0
        out[event, 1, dom] = np.where(was_hit, np.minimum(out[event, 1, dom], times), times)
        out[event, 0, dom] = out[event, 0, dom] + charges
        return out

    def state_dict(self) -> dict[str, Any]:
        """Plain data for checkpoints."""
        return {"rates_hz": self.rates_hz.tolist(), "window_ns": list(self.window_ns), "charges": self.charges.tolist()}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> DarkNoise:
        start, end = state["window_ns"]
        return cls(np.asarray(state["rates_hz"], dtype=np.float64), (float(start), float(end)),
                   np.asarray(state["charges"], dtype=np.float64))
