"""The physics verdict on generated events: every metric beside a real-vs-real reference.

Generated events are compared with the whole real sample. Each metric's reference is the same
metric between two random halves of the real sample, averaged over ``evaluation.reference_splits`` splits
(one split for the classifiers, whose statistical error is known instead), so it shows what
statistical noise alone produces at that sample size. The checks:

- classifier AUCs on (event features, labels) and on (per-DOM hits, labels), cross-validated, and
  a Frechet distance on the same event rows (features.py): events that do not match their labels
  fail even when they look right on their own;
- every observable (observables.py: event, label-aware, energy residuals, per-hit npe and times)
  by the W1 of the probability integral transform and by separation power;
- the worst energy bin and the worst zenith bin of the key observables;
- the slope of log10 total charge against log10 labelled energy;
and verdicts (verdicts.py) end in one overall verdict line.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genesis_cli.engine.atomic_files import write_text_atomic
from genesis_cli.engine.data.eventfile import INTERRUPTED_NOTE, EventFile
from genesis_cli.engine.evaluation import metrics
from genesis_cli.engine.evaluation.classifier import classifier_auc
from genesis_cli.engine.evaluation.features import RESIDUALS, EnergyFit, dom_rows, event_rows, observable_columns
from genesis_cli.engine.evaluation.observables import HIGH_LEVEL, LABEL_AWARE, Observables, file_observables
from genesis_cli.engine.evaluation.physics import PhysicsSummary, charge_energy_fit, summarise
from genesis_cli.engine.evaluation.verdicts import Overall, overall, verdict
from genesis_cli.errors import UsageError
from genesis_cli.settings.evaluation import EvaluationConfig

BINNED = ("n_hit", "log10_charge", "charge_residual", "cog_vertex_distance", "linefit_angle", "onset_time")
ENERGY_BINS = 4  # quantile bins of the real labelled energy
ZENITH_EDGES = (-1.0, -1.0 / 3.0, 1.0 / 3.0, 1.0)  # cos zenith: up-going, horizontal, down-going
MIN_BIN_EVENTS = 50
KINDS = {**{k: "event" for k in HIGH_LEVEL}, **{k: "label-aware" for k in (*LABEL_AWARE, *RESIDUALS)}}
HIGH_AUC, DOM_AUC = "classifier AUC, high-level", "classifier AUC, per-DOM"
FRECHET, SLOPE = "Frechet distance, high-level", "charge-vs-energy slope difference"
PER_HIT = {"hit_npe": ("npe of hit DOMs (log10)", "log10 PE"), "hit_time": ("hit time", "ns"),
           "hit_delay": ("hit time after the event's first hit", "ns")}


@dataclass
class Row:
    metric: str
    value: float
    reference: float
    verdict: str


@dataclass
class ObservableRow:
    name: str
    label: str
    unit: str
    kind: str  # event, label-aware or per-hit
    w1: float
    w1_reference: float
    w1_verdict: str
    separation: float
    separation_reference: float
    separation_verdict: str


@dataclass
class EvaluationReport:
    real_path: str
    generated_path: str
    n_real: int
    n_generated: int
    summary: list[Row]
    observables: list[ObservableRow]
    binned: list[Row]  # worst bin per (observable, energy or zenith binning)
    physics_real: PhysicsSummary
    physics_generated: PhysicsSummary
    conditional: dict[str, float] | None  # event by event, when the generated file reuses the real labels
    overall: Overall
    seconds: float
    per_dom_hit_rate_difference: float
    real: Observables = field(repr=False)
    generated: Observables = field(repr=False)
    notes: list[str] = field(default_factory=list)  # what a reader should know about the inputs

    @property
    def overall_verdict(self) -> str:
        return self.overall.verdict

    def to_dict(self) -> dict[str, Any]:
        return {"real": self.real_path, "generated": self.generated_path, "n_real": self.n_real,
                "n_generated": self.n_generated, "summary": [asdict(r) for r in self.summary],
                "observables": [asdict(o) for o in self.observables], "binned": [asdict(r) for r in self.binned],
                "physics": {"real": self.physics_real.to_dict(), "generated": self.physics_generated.to_dict()},
                "conditional": self.conditional, "verdict": self.overall.verdict, "verdict_line": self.overall.line,
                "poor": list(self.overall.poor), "fair": list(self.overall.fair),
                "per_dom_hit_rate_difference": self.per_dom_hit_rate_difference, "seconds": self.seconds,
                "notes": self.notes}

    def save_json(self, path: Path) -> Path:
        """The report as JSON (`genesis evaluate --json`), written atomically."""
        return write_text_atomic(path, json.dumps(self.to_dict(), indent=2, default=float))


def evaluate_files(real_path: Path, generated_path: Path, *, seed: int = 0,
                   settings: EvaluationConfig | None = None) -> EvaluationReport:
    """Evaluate two event files by the evaluation ``settings`` (None: the defaults); metrics that cannot
    be computed (too few events, no hits) are NaN."""
    settings = settings or EvaluationConfig()
    started = time.perf_counter()
    with EventFile(real_path) as real_file, EventFile(generated_path) as generated_file:
        if real_file.n_doms != generated_file.n_doms:
            raise UsageError(f"{generated_path}: has {generated_file.n_doms:,} DOMs per event, {real_path} has "
                             f"{real_file.n_doms:,}", hint="compare events of the same detector")
        notes = [f"{path}: {INTERRUPTED_NOTE}" for path, f in ((real_path, real_file), (generated_path, generated_file))
                 if f.interrupted]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        real = file_observables(real_path, dom_limit=2 * settings.dom_events, seed=seed)
        generated = file_observables(generated_path, dom_limit=settings.dom_events, seed=seed + 1)
        report = compare_observables(RealReference.of(real, seed, settings), generated, seed=seed)
    report.real_path, report.generated_path = str(real_path), str(generated_path)
    report.notes = notes
    report.seconds = time.perf_counter() - started
    return report


def _columns(obs: Observables, fit: EnergyFit) -> dict[str, np.ndarray]:
    per_hit = {"hit_npe": np.log10(obs.npe_sample), "hit_time": obs.time_sample, "hit_delay": obs.delay_sample}
    return {**observable_columns(obs, fit), **per_hit}


def _mean(values: list[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _bin_index(real: Observables) -> dict[str, Callable[[Observables], np.ndarray]]:
    """Binning name -> function giving each event's bin."""
    log_e = np.log10(real.labels[:, 0])
    edges = np.quantile(log_e, np.linspace(0, 1, ENERGY_BINS + 1)) if len(log_e) else np.zeros(ENERGY_BINS + 1)
    return {"energy": lambda o: np.clip(np.searchsorted(edges, np.log10(o.labels[:, 0]), side="right") - 1, 0, ENERGY_BINS - 1),
            "zenith": lambda o: np.clip(np.searchsorted(ZENITH_EDGES, np.cos(o.labels[:, 1]), side="right") - 1,
                                        0, len(ZENITH_EDGES) - 2)}


def _worst_bin(real: Observables, other: Observables, fit: EnergyFit, name: str,
               binning: Callable[[Observables], np.ndarray]) -> tuple[float, int]:
    r, o = observable_columns(real, fit)[name], observable_columns(other, fit)[name]
    rb, ob = binning(real), binning(other)
    worst, where = float("nan"), -1
    for b in np.unique(rb):
        if (rb == b).sum() >= MIN_BIN_EVENTS and (ob == b).sum() >= MIN_BIN_EVENTS:
            value = metrics.pit_wasserstein1(r[rb == b], o[ob == b])
            if np.isfinite(value) and not value <= worst:
                worst, where = value, int(b)
    return worst, where


@dataclass
class RealReference:
    """What statistics alone produce on the real sample: every metric between two random halves of it
    (averaged over evaluation.reference_splits splits; one split for the classifiers), computed once
    per real sample and shared by every generated sample judged against it (genesis compare judges
    several). ``settings`` judge every comparison against it."""

    real: Observables
    seed: int
    settings: EvaluationConfig
    fit: EnergyFit
    onset: float  # median light onset of the real events: the per-DOM time feature's zero
    scale: tuple[np.ndarray, np.ndarray]  # mean, std of the real event rows (Frechet distance)
    observables: dict[str, tuple[float, float]]  # name -> (W1, separation)
    binned: dict[tuple[str, str], float]  # (binning, observable) -> worst-bin W1
    summary: dict[str, float]  # summary metric -> reference value

    @classmethod
    def of(cls, real: Observables, seed: int = 0, settings: EvaluationConfig | None = None) -> RealReference:
        settings = settings or EvaluationConfig()
        fit = EnergyFit.fit(real)
        rng = np.random.default_rng(seed)
        halves = [tuple(real.subset(h) for h in np.array_split(rng.permutation(len(real.labels)), 2))
                  for _ in range(settings.reference_splits)]
        columns = [(_columns(a, fit), _columns(b, fit)) for a, b in halves]
        observables = {name: (_mean([metrics.pit_wasserstein1(a[name], b[name]) for a, b in columns]),
                              _mean([metrics.separation_power(a[name], b[name]) for a, b in columns]))
                       for name in _columns(real, fit)}
        binned = {(binning_name, name): _mean([_worst_bin(a, b, fit, name, binning)[0] for a, b in halves])
                  for binning_name, binning in _bin_index(real).items() for name in BINNED}
        rows = event_rows(real, fit)
        mean, std = np.nanmean(rows, axis=0), np.nanstd(rows, axis=0) + 1e-9
        onset = float(np.nanmedian(real.high["onset_time"])) if np.isfinite(real.high["onset_time"]).any() else 0.0
        reference = cls(real, seed, settings, fit, onset, (mean, std), observables, binned, {})
        a, b = halves[0]
        with_doms = real.subset(np.arange(min(len(real.labels), len(real.dom_npe))))
        dom_a, dom_b = (with_doms.subset(h) for h in np.array_split(rng.permutation(len(with_doms.labels)), 2))
        reference.summary = {
            HIGH_AUC: classifier_auc(event_rows(a, fit), event_rows(b, fit), seed=seed, settings=settings).auc,
            DOM_AUC: classifier_auc(dom_rows(dom_a, onset), dom_rows(dom_b, onset), seed=seed, settings=settings).auc,
            FRECHET: _mean([reference.frechet(x, y) for x, y in halves]),
            SLOPE: _mean([abs(charge_energy_fit(x)[0] - charge_energy_fit(y)[0]) for x, y in halves]),
        }
        return reference

    def frechet(self, one: Observables, other: Observables) -> float:
        mean, std = self.scale
        return metrics.frechet_distance((event_rows(one, self.fit) - mean) / std, (event_rows(other, self.fit) - mean) / std)


def compare_observables(real: Observables | RealReference, generated: Observables, *, seed: int = 0) -> EvaluationReport:
    """The report on ``generated`` against ``real`` (observables, judged by the default evaluation
    settings, or their reference computed before, judged by its settings)."""
    started = time.perf_counter()
    ref = real if isinstance(real, RealReference) else RealReference.of(real, seed)
    real, fit, settings = ref.real, ref.fit, ref.settings
    real_cols, gen_cols = _columns(real, fit), _columns(generated, fit)
    rows = []
    for name in real_cols:
        label, unit = {**HIGH_LEVEL, **LABEL_AWARE, **RESIDUALS, **PER_HIT}[name]
        w1 = metrics.pit_wasserstein1(real_cols[name], gen_cols[name])
        sep = metrics.separation_power(real_cols[name], gen_cols[name])
        w1_ref, sep_ref = ref.observables[name]
        rows.append(ObservableRow(name, label, unit, KINDS.get(name, "per-hit"), w1, w1_ref, verdict("w1", w1, w1_ref, settings=settings),
                                  sep, sep_ref, verdict("separation", sep, sep_ref, settings=settings)))
    binned = []
    for binning_name, binning in _bin_index(real).items():
        for name in BINNED:
            value, where = _worst_bin(real, generated, fit, name, binning)
            reference = ref.binned[(binning_name, name)]
            binned.append(Row(f"{name} per {binning_name} bin (worst: bin {where + 1})", value, reference,
                              verdict("binned_w1", value, reference, settings=settings)))
    high = classifier_auc(event_rows(real, fit), event_rows(generated, fit), seed=seed, settings=settings)
    with_doms = real.subset(np.arange(min(len(real.labels), len(real.dom_npe))))
    low = classifier_auc(dom_rows(with_doms, ref.onset), dom_rows(generated, ref.onset), seed=seed, settings=settings)
    values = {HIGH_AUC: (high.auc, high.null_sigma), DOM_AUC: (low.auc, low.null_sigma),
              FRECHET: (ref.frechet(real, generated), 0.0),
              SLOPE: (abs(charge_energy_fit(generated)[0] - charge_energy_fit(real)[0]), 0.0)}
    kinds = {HIGH_AUC: "auc", DOM_AUC: "auc", FRECHET: "frechet", SLOPE: "slope"}
    summary = [Row(metric, value, ref.summary[metric], verdict(kinds[metric], value, ref.summary[metric], noise, settings))
               for metric, (value, noise) in values.items()]

    verdicts = {row.metric: row.verdict for row in summary + binned}
    for o in rows:
        verdicts[f"{o.name} W1"] = o.w1_verdict
        verdicts[f"{o.name} separation"] = o.separation_verdict
    rate_diff = float(np.abs(real.dom_hit_rate - generated.dom_hit_rate).mean() / max(real.dom_hit_rate.mean(), 1e-12))
    return EvaluationReport("", "", len(real.labels), len(generated.labels), summary, rows, binned,
                            summarise(real), summarise(generated, real), conditional_fidelity(real, generated),
                            overall(verdicts), time.perf_counter() - started, rate_diff, real, generated)


def conditional_fidelity(real: Observables, generated: Observables) -> dict[str, float] | None:
    """Event-by-event comparison when the generated file reuses the real labels (same events)."""
    if len(real.labels) != len(generated.labels) or not np.allclose(real.labels, generated.labels, rtol=1e-5, atol=1e-3):
        return None
    q_real, q_gen = real.high["log10_charge"], generated.high["log10_charge"]
    ok = np.isfinite(q_real) & np.isfinite(q_gen)
    cog_real = np.stack([real.high[k] for k in ("cog_x", "cog_y", "cog_z")], axis=1)
    cog_gen = np.stack([generated.high[k] for k in ("cog_x", "cog_y", "cog_z")], axis=1)
    return {
        "events": int(ok.sum()),
        "charge_correlation": float(np.corrcoef(q_real[ok], q_gen[ok])[0, 1]) if ok.sum() > 2 else float("nan"),
        "median_abs_log10_charge_difference": float(np.median(np.abs(q_real[ok] - q_gen[ok]))) if ok.any() else float("nan"),
        "median_cog_distance_m": float(np.nanmedian(np.linalg.norm(cog_real - cog_gen, axis=1))),
    }
