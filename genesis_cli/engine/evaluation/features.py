"""What the judge's classifiers and distances see: event features paired with their labels.

A conditional generator is right only if each event matches its own labels, so every classifier
row is (event features, label features): events paired with the wrong labels, or with a flipped
zenith, separate from simulation even when their features alone are perfect (CaloChallenge's
high-level features include the incident energy for this reason).

- Label features (7): log10 E, cos zenith, sin and cos azimuth, vertex x, y, z.
- Event rows: the event observables (HIGH_LEVEL), the label-aware observables (LABEL_AWARE), the
  CoG's offset from the vertex per axis, and the residuals of log10 total charge and log10 hit
  count from straight lines in log10 E fitted on the simulation (``EnergyFit``): the same line
  for every sample, so a charge scale of 1.3 is a residual of log10(1.3) = 0.11 in every bin.
- Per-DOM rows: every DOM's hit, charge and direct-light time residual gathered into the event's
  own frame (distance to the labelled vertex x angle to the labelled direction; dom_frame.py), then
  the label features.
The classifier rank-transforms every column, so no feature needs scaling here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genesis_cli.engine.evaluation.observables import HIGH_LEVEL, LABEL_AWARE, Observables

RESIDUALS = {
    "charge_residual": ("log10 charge minus the simulation's line in log10 E", "log10 PE"),
    "hits_residual": ("log10 hit DOMs minus the simulation's line in log10 E", "log10"),
}


def label_features(labels: np.ndarray) -> np.ndarray:
    """(N, 6) physical labels -> (N, 7): log10 E, cos zenith, sin/cos azimuth, x, y, z."""
    zenith, azimuth = labels[:, 1], labels[:, 2]
    return np.column_stack([np.log10(np.maximum(labels[:, 0], 1e-30)), np.cos(zenith), np.sin(azimuth),
                            np.cos(azimuth), labels[:, 3:6]])


def _log_hits(obs: Observables) -> np.ndarray:
    return np.log10(np.where(obs.high["n_hit"] > 0, obs.high["n_hit"], np.nan))


@dataclass(frozen=True)
class EnergyFit:
    """Straight lines of log10 total charge and log10 hit count in log10 E, fitted on simulation."""

    charge: tuple[float, float]  # (slope, intercept)
    hits: tuple[float, float]

    @classmethod
    def fit(cls, real: Observables) -> EnergyFit:
        log_e = np.log10(real.labels[:, 0])

        def line(values: np.ndarray) -> tuple[float, float]:
            ok = np.isfinite(values) & np.isfinite(log_e)
            if ok.sum() < 3 or np.ptp(log_e[ok]) == 0:  # one energy only: the residual is about the mean
                return 0.0, float(np.nanmean(values)) if ok.any() else 0.0
            slope, intercept = np.polyfit(log_e[ok], values[ok], 1)
            return float(slope), float(intercept)

        return cls(line(real.high["log10_charge"]), line(_log_hits(real)))

    def residuals(self, obs: Observables) -> dict[str, np.ndarray]:
        log_e = np.log10(obs.labels[:, 0])
        return {"charge_residual": obs.high["log10_charge"] - (self.charge[0] * log_e + self.charge[1]),
                "hits_residual": _log_hits(obs) - (self.hits[0] * log_e + self.hits[1])}


def observable_columns(obs: Observables, fit: EnergyFit) -> dict[str, np.ndarray]:
    """Every per-event observable of ``obs`` by name: event, label-aware and energy residuals."""
    return {**{k: obs.high[k] for k in (*HIGH_LEVEL, *LABEL_AWARE)}, **fit.residuals(obs)}


def event_rows(obs: Observables, fit: EnergyFit) -> np.ndarray:
    """(N, K) rows of the high-level classifier and Frechet distance."""
    columns = observable_columns(obs, fit)
    offset = np.stack([obs.high[f"cog_{axis}"] for axis in "xyz"], axis=1) - obs.labels[:, 3:6]
    return np.column_stack([*columns.values(), offset, label_features(obs.labels)])


def dom_rows(obs: Observables) -> np.ndarray:
    """(M, F + 7) rows of the per-DOM classifier (M: the events whose per-DOM images were kept)."""
    return np.concatenate([obs.images, label_features(obs.labels[obs.dom_event])], axis=1).astype(np.float32)
