"""What statistics alone produce: every distance between real events, at the test's own sample sizes.

A distance between the real file (n_r events) and a generated file (n_g events) is judged against
the same distance between two disjoint draws of real events. Its noise grows like
sqrt(1/n_r + 1/n_g), so the draws must match the test: ``min(n_g, n_r / 2)`` real events against the
rest of the real file, over ``evaluation.reference_draws`` draws. When the real file is too small for
that (n_g > n_r / 2), the draws' noise is larger than the test's, and each reference is scaled by
the ratio of the two noises: f = (1/n_r + 1/n_g) / (1/m_a + 1/m_b), sqrt(f) for the W1s and the slope
(their statistical noise scales as a standard error), f for the separation power and the Frechet
distance (biased by a chi-square-like term ~1/n). Halves against halves, as before, was too lenient
at equal sizes and raised false alarms on small generated files.

Classifiers are judged by significance instead (the AUC's error at the test's size is known,
classifier.py); their real-vs-real AUC, from one draw, is shown beside them and checks the judge.
A reference is computed once per real sample and generated size; several generated samples of one
size judged against one ``RealReference`` share it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from genesis_cli.engine.evaluation import metrics
from genesis_cli.engine.evaluation.classifier import ClassifierResult, classifier_auc
from genesis_cli.engine.evaluation.features import EnergyFit, dom_rows, event_rows, observable_columns
from genesis_cli.engine.evaluation.observables import Observables
from genesis_cli.engine.evaluation.physics import charge_energy_fit
from genesis_cli.settings.evaluation import EvaluationConfig

BINNED = ("n_hit", "log10_charge", "charge_residual", "cog_vertex_distance", "linefit_angle", "onset_time")
ENERGY_BINS = 4  # quantile bins of the real labelled energy
ZENITH_EDGES = (-1.0, -1.0 / 3.0, 1.0 / 3.0, 1.0)  # cos zenith: up-going, horizontal, down-going
ZENITH_BINS = ("up-going", "horizontal", "down-going")
MIN_BIN_EVENTS = 50
HIGH_AUC, DOM_AUC = "classifier AUC, high-level", "classifier AUC, per-DOM"
FRECHET, SLOPE = "Frechet distance, high-level", "charge-vs-energy slope difference"


def columns(obs: Observables, fit: EnergyFit) -> dict[str, np.ndarray]:
    """Every observable judged by W1 and separation: per event, then per sampled hit."""
    per_hit = {"hit_npe": np.log10(obs.npe_sample), "hit_time": obs.time_sample, "hit_delay": obs.delay_sample}
    return {**observable_columns(obs, fit), **per_hit}


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def energy_edges(real: Observables) -> np.ndarray:
    """(ENERGY_BINS + 1,) log10 energy edges of the energy bins: quantiles of the real labelled energies."""
    log_e = np.log10(real.labels[:, 0])
    return np.quantile(log_e, np.linspace(0, 1, ENERGY_BINS + 1)) if len(log_e) else np.zeros(ENERGY_BINS + 1)


def bin_index(real: Observables) -> dict[str, Callable[[Observables], np.ndarray]]:
    """Binning name -> function giving each event's bin (energy quartiles of the real file; zenith thirds)."""
    edges = energy_edges(real)
    return {"energy": lambda o: np.clip(np.searchsorted(edges, np.log10(o.labels[:, 0]), side="right") - 1, 0, ENERGY_BINS - 1),
            "zenith": lambda o: np.clip(np.searchsorted(ZENITH_EDGES, np.cos(o.labels[:, 1]), side="right") - 1,
                                        0, len(ZENITH_EDGES) - 2)}


def worst_bin(real: Observables, other: Observables, fit: EnergyFit, name: str,
              binning: Callable[[Observables], np.ndarray]) -> tuple[float, int]:
    """The largest W1 of ``name`` over the bins both samples fill, and that bin."""
    r, o = observable_columns(real, fit)[name], observable_columns(other, fit)[name]
    rb, ob = binning(real), binning(other)
    worst, where = float("nan"), -1
    for b in np.unique(rb):
        if (rb == b).sum() >= MIN_BIN_EVENTS and (ob == b).sum() >= MIN_BIN_EVENTS:
            value = metrics.pit_wasserstein1(r[rb == b], o[ob == b])
            if np.isfinite(value) and not value <= worst:
                worst, where = value, int(b)
    return worst, where


@dataclass(frozen=True)
class SizedReference:
    """The real-vs-real references for a generated sample of ``n_generated`` events."""

    n_generated: int
    draw_sizes: tuple[int, int]  # (m_a, m_b): real events standing in for the generated ones, and the rest
    factor: float  # (1/n_r + 1/n_g) / (1/m_a + 1/m_b): how much smaller the test's noise is
    observables: dict[str, tuple[float, float]]  # name -> (W1, separation)
    binned: dict[tuple[str, str], float]  # (binning, observable) -> worst-bin W1
    summary: dict[str, float]  # summary metric -> reference value
    classifiers: dict[str, ClassifierResult]  # real-vs-real classifier results at the draw's size


@dataclass
class RealReference:
    """The real sample, its energy fit and feature scale, and its references by generated size."""

    real: Observables
    seed: int
    settings: EvaluationConfig
    fit: EnergyFit
    scale: tuple[np.ndarray, np.ndarray]  # mean, std of the real event rows (Frechet distance)
    _sized: dict[int, SizedReference] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, real: Observables, seed: int = 0, settings: EvaluationConfig | None = None) -> RealReference:
        fit = EnergyFit.fit(real)
        rows = event_rows(real, fit)
        return cls(real, seed, settings or EvaluationConfig(), fit, (np.nanmean(rows, axis=0), np.nanstd(rows, axis=0)))

    def frechet(self, one: Observables, other: Observables) -> float:
        mean, std = self.scale
        return metrics.standardised_frechet(event_rows(one, self.fit), event_rows(other, self.fit), mean, std)

    def at(self, n_generated: int) -> SizedReference:
        """The references for a generated sample of ``n_generated`` events (computed once per size)."""
        if n_generated not in self._sized:
            self._sized[n_generated] = self._draw(n_generated)
        return self._sized[n_generated]

    def _draw(self, n_generated: int) -> SizedReference:
        real, fit, settings = self.real, self.fit, self.settings
        n_real = len(real.labels)
        m_a = max(1, min(n_generated, n_real // 2))
        m_b = max(1, n_real - m_a)
        factor = (1 / max(n_real, 1) + 1 / max(n_generated, 1)) / (1 / m_a + 1 / m_b)
        rng = np.random.default_rng(self.seed)
        draws = []
        for _ in range(settings.reference_draws):
            order = rng.permutation(n_real)
            draws.append((real.subset(order[m_a:]), real.subset(order[:m_a])))  # (rest as "real", m_a as "generated")
        cols = [(columns(b, fit), columns(a, fit)) for b, a in draws]
        root = math.sqrt(factor)
        observables = {name: (root * _mean([metrics.pit_wasserstein1(b[name], a[name]) for b, a in cols]),
                              factor * _mean([metrics.separation_power(b[name], a[name]) for b, a in cols]))
                       for name in columns(real, fit)}
        binned = {(binning_name, name): root * _mean([worst_bin(b, a, fit, name, binning)[0] for b, a in draws])
                  for binning_name, binning in bin_index(real).items() for name in BINNED}
        rest, stand_in = draws[0]  # real events are never paired with each other: no groups
        classifiers = {
            HIGH_AUC: classifier_auc(event_rows(rest, fit), event_rows(stand_in, fit), seed=self.seed, settings=settings),
            DOM_AUC: classifier_auc(dom_rows(rest), dom_rows(stand_in), seed=self.seed, settings=settings),
        }
        summary = {
            HIGH_AUC: classifiers[HIGH_AUC].auc, DOM_AUC: classifiers[DOM_AUC].auc,
            FRECHET: factor * _mean([self.frechet(b, a) for b, a in draws]),
            SLOPE: root * _mean([abs(charge_energy_fit(b)[0] - charge_energy_fit(a)[0]) for b, a in draws]),
        }
        return SizedReference(n_generated, (m_a, m_b), factor, observables, binned, summary, classifiers)
