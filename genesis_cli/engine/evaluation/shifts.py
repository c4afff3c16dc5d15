"""Physics shifts with standard errors: the numbers a physicist quotes about a generator.

A distance (W1, an AUC) says *that* two samples differ; a shift says by how much, in physical units,
with an error: "the generated light yield is 10.2 +- 0.3% high", "the hit times are 5.0 +- 0.1 ns
late". Each shift is generated minus simulation:

- energy scale: the charge at the same labels, from the residual of log10 total charge about the
  simulation's straight line in log10 E (features.EnergyFit), as a ratio minus 1; the energy the
  charge implies, through the line's slope, is given beside it;
- time offset: the light onset at the vertex (observables.py: the median direct-light residual of
  the three brightest DOMs);
- extra time spread: the onset's width (1.4826 x median absolute deviation) compared in quadrature,
  sqrt(|w_gen^2 - w_sim^2|) with the sign of the difference, judged on w_gen^2 - w_sim^2 itself;
- direction: the median LineFit angle to the labelled direction, and the azimuth offset: the
  circular mean of the LineFit azimuth minus the labelled azimuth, weighted by sin(zenith) (a
  rotated generator shows its rotation);
- the charge centre of gravity's offset from the labelled vertex, along and across the labelled
  direction.

When the generated events were made for the real events' labels (pairing.py), a location shift is
the median of the per-pair differences, which cancels everything the labels fix; otherwise it is
the difference of the two medians. Standard errors come from ``evaluation.bootstrap`` resamples
(of pairs, or of each sample) (Efron & Tibshirani 1993).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from genesis_cli.engine.evaluation.features import EnergyFit
from genesis_cli.engine.evaluation.observables import Observables
from genesis_cli.engine.evaluation.pairing import Pairing
from genesis_cli.engine.evaluation.reference import MIN_BIN_EVENTS, ZENITH_BINS, bin_index, energy_edges
from genesis_cli.engine.evaluation.verdicts import significance_verdict
from genesis_cli.settings.evaluation import EvaluationConfig

ENERGY_SCALE, TIME_OFFSET, TIME_SPREAD = "energy scale", "time offset", "extra time spread"
BINNED_TIME_OFFSET = "time offset, worst energy x zenith bin"
DIRECTION, AZIMUTH = "direction (LineFit angle)", "azimuth offset"
COG_ALONG, COG_ACROSS = "CoG offset along the track", "CoG offset across the track"
MAD_TO_SIGMA = 1.4826  # a Gaussian's sigma over its median absolute deviation

Statistic = Callable[[np.ndarray, np.ndarray], float]  # (generated rows, real rows) -> value


@dataclass(frozen=True)
class Shift:
    """One physics shift, generated minus simulation: ``value`` +- ``error`` in ``unit``, ``z`` standard
    errors from zero, judged by its rule."""

    name: str
    quantity: str
    unit: str
    value: float
    error: float
    z: float
    verdict: str
    detail: str = ""

    def text(self) -> str:
        """'+10.2 +- 0.3 %' with the precision the error allows."""
        if not (math.isfinite(self.value) and math.isfinite(self.error)):
            return "-"
        scale = 100.0 if self.unit == "%" else 1.0
        digits = max(0, min(3, 1 - int(math.floor(math.log10(max(self.error * scale, 1e-9))))))
        return f"{self.value * scale:+.{digits}f} ± {self.error * scale:.{digits}f} {self.unit}"


def _finite_median(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else float("nan")


def _width(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(MAD_TO_SIGMA * np.median(np.abs(values - np.median(values)))) if values.size else float("nan")


def _circular_mean_deg(offsets: np.ndarray, weights: np.ndarray) -> float:
    ok = np.isfinite(offsets) & np.isfinite(weights)
    total = np.sum(weights[ok] * np.exp(1j * np.radians(offsets[ok])))
    return float(np.degrees(np.angle(total))) if ok.any() else float("nan")


def _wrap_deg(angle: float) -> float:
    return float((angle + 180.0) % 360.0 - 180.0)


class _Samples:
    """The rows a statistic is computed on, and bootstrap resamples of them (pairs kept together)."""

    def __init__(self, real: Observables, generated: Observables, pairing: Pairing) -> None:
        self.real, self.generated, self.paired = real, generated, pairing.paired
        if self.paired:
            self.rows = (pairing.generated_index, pairing.real_index)
        else:
            self.rows = (np.arange(len(generated.labels)), np.arange(len(real.labels)))

    def resamples(self, count: int, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
        g, r = self.rows
        if self.paired:
            picks = [rng.integers(0, len(g), len(g)) for _ in range(count)]
            return [(g[k], r[k]) for k in picks]
        return [(g[rng.integers(0, len(g), len(g))], r[rng.integers(0, len(r), len(r))]) for _ in range(count)]

    def within(self, generated_rows: np.ndarray, real_rows: np.ndarray) -> _Samples:
        """These samples restricted to the rows kept by the boolean masks (paired: one mask over the pairs)."""
        kept = copy.copy(self)
        kept.rows = (self.rows[0][generated_rows], self.rows[1][real_rows])
        return kept

    def location(self, gen_values: np.ndarray, real_values: np.ndarray) -> Statistic:
        """Median of per-pair differences (paired) or difference of medians."""
        if self.paired:
            return lambda g, r: _finite_median(gen_values[g] - real_values[r])
        return lambda g, r: _finite_median(gen_values[g]) - _finite_median(real_values[r])


def _estimate(samples: _Samples, statistic: Statistic, draws: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float]:
    value = statistic(*samples.rows)
    spread = np.array([statistic(g, r) for g, r in draws])
    spread = spread[np.isfinite(spread)]
    return value, float(np.std(spread)) if spread.size > 1 else float("nan")


def _z(value: float, error: float) -> float:
    if not math.isfinite(value):
        return float("nan")
    return abs(value) / error if error > 0 else (0.0 if value == 0 else float("inf"))


def physics_shifts(real: Observables, generated: Observables, fit: EnergyFit, pairing: Pairing,
                   settings: EvaluationConfig, seed: int = 0) -> list[Shift]:
    """Every shift of ``generated`` from ``real`` with its bootstrap error and verdict."""
    samples = _Samples(real, generated, pairing)
    draws = samples.resamples(settings.bootstrap, np.random.default_rng(seed))
    shifts: list[Shift] = []

    def location(name: str, quantity: str, unit: str, column: str, rule: tuple[float, ...]) -> None:
        value, error = _estimate(samples, samples.location(generated.high[column], real.high[column]), draws)
        z = _z(value, error)
        shifts.append(Shift(name, quantity, unit, value, error, z, significance_verdict(value, z, rule)))

    # energy scale: a shift of log10 charge at fixed labels, quoted as a ratio
    gen_res, real_res = fit.residuals(generated)["charge_residual"], fit.residuals(real)["charge_residual"]
    log_shift, log_error = _estimate(samples, samples.location(gen_res, real_res), draws)
    scale = 10.0 ** log_shift - 1.0
    z = _z(log_shift, log_error)
    energy = 10.0 ** (log_shift / fit.charge[0]) - 1.0 if fit.charge[0] > 0 else float("nan")
    shifts.append(Shift(ENERGY_SCALE, "charge at the same labels, generated / simulated - 1", "%", scale,
                        math.log(10.0) * (1.0 + scale) * log_error, z,
                        significance_verdict(scale, z, settings.energy_scale),
                        f"as energy: {energy * 100:+.1f}%" if math.isfinite(energy) else ""))
    location(TIME_OFFSET, "light onset at the vertex", "ns", "onset_time", settings.time_offset_ns)

    # extra time spread: widths compared in quadrature, judged on the difference of squares
    onset_g, onset_r = generated.high["onset_time"], real.high["onset_time"]

    def squares(g: np.ndarray, r: np.ndarray) -> float:
        return _width(onset_g[g]) ** 2 - _width(onset_r[r]) ** 2

    def signed_root(g: np.ndarray, r: np.ndarray) -> float:
        d = squares(g, r)
        return math.copysign(math.sqrt(abs(d)), d)

    d2, d2_error = _estimate(samples, squares, draws)
    spread, spread_error = _estimate(samples, signed_root, draws)
    z = _z(d2, d2_error)
    shifts.append(Shift(TIME_SPREAD, "light onset width, in quadrature", "ns", spread, spread_error, z,
                        significance_verdict(spread, z, settings.time_spread_ns),
                        f"width {_width(onset_g):.2f} ns against {_width(onset_r):.2f} ns"))

    location(DIRECTION, "median LineFit angle to the labelled direction", "deg", "linefit_angle", settings.direction_deg)
    offsets_g, offsets_r = generated.high["linefit_azimuth_offset"], real.high["linefit_azimuth_offset"]
    weights_g, weights_r = np.sin(generated.labels[:, 1]), np.sin(real.labels[:, 1])

    def azimuth(g: np.ndarray, r: np.ndarray) -> float:
        return _wrap_deg(_circular_mean_deg(offsets_g[g], weights_g[g]) - _circular_mean_deg(offsets_r[r], weights_r[r]))

    value, error = _estimate(samples, azimuth, draws)
    z = _z(value, error)
    shifts.append(Shift(AZIMUTH, "LineFit azimuth minus labelled azimuth, circular mean", "deg", value, error, z,
                        significance_verdict(value, z, settings.azimuth_deg)))
    location(COG_ALONG, "charge CoG offset from the vertex along the labelled direction", "m", "cog_vertex_along",
             settings.cog_offset_m)
    location(COG_ACROSS, "charge CoG distance from the labelled track line", "m", "cog_vertex_across",
             settings.cog_offset_m)
    return shifts


def binned_time_offsets(real: Observables, generated: Observables, pairing: Pairing, settings: EvaluationConfig,
                        seed: int = 0) -> list[Shift]:
    """The time offset (the onset at the vertex, as the overall check) in each energy x zenith bin (the
    judge's bins: quartiles of the real energies, thirds in cos zenith) filled by ``MIN_BIN_EVENTS`` events
    on both sides; a pair is binned by its labels. A wrong onset for some energies or directions that
    averages out overall shows here."""
    samples = _Samples(real, generated, pairing)
    binning = bin_index(real)
    g_rows, r_rows = samples.rows

    def bins(obs: Observables, rows: np.ndarray) -> np.ndarray:  # energy bin * zenith bins + zenith bin
        return binning["energy"](obs)[rows] * len(ZENITH_BINS) + binning["zenith"](obs)[rows]

    g_bin, r_bin = bins(generated, g_rows), bins(real, r_rows)
    if samples.paired:
        g_bin = r_bin  # a pair shares its labels
    edges = energy_edges(real)
    statistic = samples.location(generated.high["onset_time"], real.high["onset_time"])
    rng = np.random.default_rng(seed)
    shifts = []
    filled = np.unique(r_bin)
    for code in filled:
        inside = samples.within(g_bin == code, r_bin == code)
        if min(len(inside.rows[0]), len(inside.rows[1])) < MIN_BIN_EVENTS:
            continue
        energy, zenith = divmod(int(code), len(ZENITH_BINS))
        value, error = _estimate(inside, statistic, inside.resamples(settings.bootstrap, rng))
        z = _z(value, error)
        name = (f"time offset, E {10 ** edges[energy]:.2g}-{10 ** edges[energy + 1]:.2g} GeV, "
                f"{ZENITH_BINS[zenith]}")
        shifts.append(Shift(name, "light onset at the vertex in one energy and zenith bin", "ns", value, error, z,
                            significance_verdict(value, family_z(z, len(filled)), settings.time_offset_ns),
                            f"{len(inside.rows[0]):,} generated, {len(inside.rows[1]):,} simulated events; "
                            f"judged as the worst of {len(filled)} bins"))
    return shifts


def family_z(z: float, tests: int) -> float:
    """The single-test z with the same two-sided false-alarm chance as the largest |z| of ``tests``
    independent tests at ``z`` (Sidak), so that a perfect generator's worst bin is judged as one test."""
    if not math.isfinite(z) or tests <= 1:
        return z
    p_single = math.erfc(abs(z) / math.sqrt(2.0))
    p_family = -math.expm1(tests * math.log1p(-min(p_single, 1.0 - 1e-16)))
    low, high = 0.0, 40.0
    for _ in range(80):  # invert erfc by bisection
        mid = (low + high) / 2
        low, high = (mid, high) if math.erfc(mid / math.sqrt(2.0)) > p_family else (low, mid)
    return low
