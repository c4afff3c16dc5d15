"""Invertible normalisation of signals, labels and geometry.

Signals (B, 2, L), per DOM [npe, time]. A DOM is hit when npe > 0.
- npe:  n' = log1p(npe) / s_npe, with s_npe the RMS of log1p(npe) over hits, so hit charges sit
  near 1 while no-hit DOMs stay exactly 0 (the majority: events are sparse).
- time: u = t - t_ref (t_ref: the training split's earliest hit, or each event's first hit with
  ``align_time``); tau = sign(u) log1p(|u|) (log compression of late, scattered light; invertible
  for any u); t' = (tau - mean) / std over hits; no-hit DOMs get t' = 0.
- The inverse decides hits from the npe channel and writes no-hit DOMs with the no-hit time of the
  training file (inf in raw IceCube files), so the output follows the input file's convention.

Labels (B, 6) -> log10(E) standardised on the training split (energies span decades); zenith and
azimuth mapped linearly from their fixed ranges [0, pi] and [0, 2 pi] to [-1, 1] (exactly
invertible, and a model can still recover the physical angle, e.g. for sin/cos features);
positions relative to the detector centre in units of the detector's half size.

Geometry (3, L) uses the same centre and length scale as the label positions.
All statistics are plain floats (``state_dict``), saved with checkpoints so sampling inverts exactly.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from genesis_cli.engine.detector import Geometry

ZENITH_RANGE = math.pi
#: Generated npe below half this quantile of the training charges is "no hit": a model's output for
#: an empty DOM is never exactly 0, while real hits are never smaller than the smallest charges.
HIT_THRESHOLD_QUANTILE = 0.01
#: Bounds on inverted model outputs, so an untrained or diverging model cannot produce absurd or
#: infinite values: charges up to this factor times the largest training charge, normalised times
#: within the training range widened by this many standard deviations.
MAX_NPE_FACTOR = 10.0
TIME_MARGIN_STD = 1.0
AZIMUTH_RANGE = 2 * math.pi


def _symlog(u: np.ndarray) -> np.ndarray:
    return np.sign(u) * np.log1p(np.abs(u))


def _symexp(tau: np.ndarray) -> np.ndarray:
    return np.sign(tau) * np.expm1(np.abs(tau))


@dataclass(frozen=True)
class Normalizer:
    """Fitted normalisation statistics; every field is a plain float or bool."""

    npe_scale: float
    time_reference: float
    time_mean: float
    time_std: float
    log_energy_mean: float
    log_energy_std: float
    centre_x: float
    centre_y: float
    centre_z: float
    length_scale: float
    align_time: bool
    no_hit_time: float
    replace_time_inf_with: float
    hit_threshold: float  # npe below which a generated DOM counts as not hit (half the 1% quantile of charges)
    max_npe: float  # generated charges are clipped at 10x the largest training charge
    time_low: float  # normalised hit-time range of the training sample; generated times are kept
    time_high: float  # within it, widened by one standard deviation on each side

    # -- fitting ----------------------------------------------------------------------------------
    @classmethod
    def fit(cls, hit_npe: np.ndarray, hit_time: np.ndarray, first_hit_time: np.ndarray,
            labels: np.ndarray, geometry: Geometry, *, align_time: bool, no_hit_time: float,
            replace_time_inf_with: float) -> Normalizer:
        """Statistics from training-split samples.

        Args:
            hit_npe, hit_time: npe and time (ns) of hit DOMs, flattened over sampled events.
            first_hit_time: per hit, the first-hit time of its event (used with align_time).
            labels: (N, 6) physical labels of the training split.
            geometry: the detector (its centre and half size scale positions).
        """
        if hit_npe.size == 0:
            raise ValueError("the training sample holds no hit DOM; cannot fit the normalisation")
        npe_scale = float(np.sqrt(np.mean(np.log1p(hit_npe.astype(np.float64)) ** 2)))
        reference = 0.0 if align_time else float(hit_time.min())
        tau = _symlog(hit_time.astype(np.float64) - (first_hit_time if align_time else reference))
        log_e = np.log10(labels[:, 0].astype(np.float64))
        centre = [(lo + hi) / 2 for lo, hi in geometry.extent.values()]
        return cls(
            npe_scale=max(npe_scale, 1e-6),
            time_reference=reference,
            time_mean=float(tau.mean()),
            time_std=max(float(tau.std()), 1e-6),
            log_energy_mean=float(log_e.mean()),
            log_energy_std=max(float(log_e.std()), 1e-6),
            centre_x=float(centre[0]), centre_y=float(centre[1]), centre_z=float(centre[2]),
            length_scale=geometry.half_size,
            align_time=align_time,
            no_hit_time=float(no_hit_time),
            replace_time_inf_with=float(replace_time_inf_with),
            hit_threshold=0.5 * float(np.quantile(hit_npe, HIT_THRESHOLD_QUANTILE)),
            max_npe=MAX_NPE_FACTOR * float(hit_npe.max()),
            time_low=float((tau.min() - tau.mean()) / max(float(tau.std()), 1e-6)),
            time_high=float((tau.max() - tau.mean()) / max(float(tau.std()), 1e-6)),
        )

    # -- signals ----------------------------------------------------------------------------------
    def signals(self, raw: np.ndarray) -> np.ndarray:
        """(B, 2, L) physical [npe, time ns] -> normalised float32 (no-hit DOMs exactly 0).

        Only hit DOMs (a few percent) are transformed, in float64; the rest stay 0.
        """
        npe = raw[:, 0]
        hit = npe > 0
        out = np.zeros(raw.shape, dtype=np.float32)
        event, dom = np.nonzero(hit)
        time = raw[:, 1][event, dom].astype(np.float64)
        time = np.where(np.isfinite(time), time, self.replace_time_inf_with)
        if self.align_time:
            first = np.full(raw.shape[0], np.inf)
            np.minimum.at(first, event, time)
            reference = first[event]
        else:
            reference = self.time_reference
        out[event, 0, dom] = np.log1p(npe[event, dom].astype(np.float64)) / self.npe_scale
        out[event, 1, dom] = (_symlog(time - reference) - self.time_mean) / self.time_std
        return out

    def inverse_signals(self, normalised: np.ndarray, hit_threshold: float | None = 0.0) -> np.ndarray:
        """Normalised (B, 2, L) -> physical float32 [npe, time ns].

        DOMs with npe <= ``hit_threshold`` are no-hit: npe 0 and the training file's no-hit time.
        ``hit_threshold=None`` uses the fitted threshold (what sampling does).
        With ``align_time`` the times are relative to the event's first hit.
        """
        scaled = normalised.astype(np.float64)
        npe = np.minimum(np.expm1(np.clip(scaled[:, 0] * self.npe_scale, 0.0, 700.0)), self.max_npe)
        hit = npe > (self.hit_threshold if hit_threshold is None else hit_threshold)
        bounded = np.clip(scaled[:, 1], self.time_low - TIME_MARGIN_STD, self.time_high + TIME_MARGIN_STD)
        tau = bounded * self.time_std + self.time_mean
        time = _symexp(tau) + self.time_reference
        out = np.empty(normalised.shape, dtype=np.float32)
        out[:, 0] = np.where(hit, npe, 0.0)
        out[:, 1] = np.where(hit, time, self.no_hit_time)
        return out

    # -- labels and geometry ----------------------------------------------------------------------
    def labels(self, raw: np.ndarray) -> np.ndarray:
        """(B, 6) physical [E GeV, zenith, azimuth, x, y, z] -> normalised float32."""
        raw = raw.astype(np.float64)
        out = np.empty(raw.shape, dtype=np.float32)
        out[:, 0] = (np.log10(raw[:, 0]) - self.log_energy_mean) / self.log_energy_std
        out[:, 1] = raw[:, 1] / ZENITH_RANGE * 2 - 1
        out[:, 2] = raw[:, 2] / AZIMUTH_RANGE * 2 - 1
        out[:, 3:6] = (raw[:, 3:6] - self.centre) / self.length_scale
        return out

    def inverse_labels(self, normalised: np.ndarray) -> np.ndarray:
        """Normalised (B, 6) -> physical float64 labels."""
        x = normalised.astype(np.float64)
        out = np.empty(x.shape, dtype=np.float64)
        out[:, 0] = 10.0 ** (x[:, 0] * self.log_energy_std + self.log_energy_mean)
        out[:, 1] = (x[:, 1] + 1) / 2 * ZENITH_RANGE
        out[:, 2] = (x[:, 2] + 1) / 2 * AZIMUTH_RANGE
        out[:, 3:6] = x[:, 3:6] * self.length_scale + self.centre
        return out

    def geometry(self, positions: np.ndarray) -> np.ndarray:
        """(3, L) DOM positions in metres -> normalised float32."""
        return ((positions - self.centre[:, None]) / self.length_scale).astype(np.float32)

    @property
    def centre(self) -> np.ndarray:
        return np.array([self.centre_x, self.centre_y, self.centre_z])

    # -- persistence ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Plain data (floats and bools) for checkpoints and JSON."""
        return asdict(self)

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> Normalizer:
        names = {f.name for f in fields(cls)}
        missing = names - set(state)
        if missing:
            raise ValueError(f"normalisation state lacks {', '.join(sorted(missing))}")
        return cls(**{k: state[k] for k in names})
