"""The physics a user checks first, as plain numbers: one summary per event file.

These are the quantities of the fidelity benchmark's row and of the evaluation report's physics
table: how many DOMs an event lights, how bright and when, where the light sits relative to the
labelled vertex, and whether its direction and amount follow the labelled direction and energy.
Each is a plain float, so a simulation's value and a generator's value sit side by side.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from genesis_cli.engine.evaluation.observables import Observables

WEAK_HIT_PE = 0.5  # a real hit is at least one photoelectron, smeared; below half of one is suspicious
EARLY_QUANTILE = 0.05  # "early" hits: before the reference's 5% hit-time quantile


@dataclass(frozen=True)
class PhysicsSummary:
    events: int
    hits_per_event: float
    weak_hit_fraction: float  # hits below WEAK_HIT_PE
    npe_median: float  # over hit DOMs
    npe_q99: float
    median_hit_time_ns: float
    early_hit_fraction: float  # hits before the reference's EARLY_QUANTILE time quantile
    median_cog_to_vertex_m: float
    cog_x_label_correlation: float
    median_linefit_angle_deg: float  # LineFit direction to the labelled direction (random: 90)
    charge_vs_energy_slope: float  # d log10(total charge) / d log10(E)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def charge_energy_fit(obs: Observables) -> tuple[float, float]:
    """(slope, intercept) of log10 total charge against log10 labelled energy."""
    log_q, log_e = obs.high["log10_charge"], np.log10(obs.labels[:, 0])
    ok = np.isfinite(log_q) & np.isfinite(log_e)
    if ok.sum() < 3 or np.ptp(log_e[ok]) == 0:
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(log_e[ok], log_q[ok], 1)
    return float(slope), float(intercept)


def cog_to_vertex(obs: Observables) -> np.ndarray:
    """(N,) distance of the charge centre of gravity from the labelled vertex, metres."""
    cog = np.stack([obs.high[k] for k in ("cog_x", "cog_y", "cog_z")], axis=1)
    return np.linalg.norm(cog - obs.labels[:, 3:6], axis=1)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def _nan_median(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else float("nan")


def summarise(obs: Observables, reference: Observables | None = None) -> PhysicsSummary:
    """The summary of ``obs``; early hits are counted against ``reference``'s times (default: its own)."""
    npe, times = obs.npe_sample, obs.time_sample
    ref_times = (reference or obs).time_sample
    early = float(np.quantile(ref_times, EARLY_QUANTILE)) if ref_times.size else float("nan")
    return PhysicsSummary(
        events=len(obs.labels),
        hits_per_event=float(np.mean(obs.high["n_hit"])) if len(obs.labels) else float("nan"),
        weak_hit_fraction=float(np.mean(npe < WEAK_HIT_PE)) if npe.size else float("nan"),
        npe_median=float(np.median(npe)) if npe.size else float("nan"),
        npe_q99=float(np.quantile(npe, 0.99)) if npe.size else float("nan"),
        median_hit_time_ns=float(np.median(times)) if times.size else float("nan"),
        early_hit_fraction=float(np.mean(times < early)) if times.size else float("nan"),
        median_cog_to_vertex_m=_nan_median(cog_to_vertex(obs)),
        cog_x_label_correlation=_correlation(obs.high["cog_x"], obs.labels[:, 3]),
        median_linefit_angle_deg=_nan_median(obs.linefit_angle),
        charge_vs_energy_slope=charge_energy_fit(obs)[0],
    )
