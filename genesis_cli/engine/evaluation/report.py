"""The physics verdict on generated events: every metric beside a real-vs-real reference.

The real file is split in two halves A and B (seeded). Generated events are compared with A; the
reference row compares B with A, so each metric comes with the value that statistical noise alone
produces. Verdicts: good / fair / poor by the thresholds below, judged relative to the reference.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genesis_cli.engine.evaluation import metrics
from genesis_cli.engine.evaluation.classifier import classifier_auc
from genesis_cli.engine.evaluation.observables import HIGH_LEVEL, Observables, file_observables

LOW_LEVEL_EVENTS = 5000  # per file: the per-DOM classifier sees at most this many events of each
# verdict thresholds: (good if <= max(reference * factor, floor), fair if <= fair_limit)
THRESHOLDS = {
    "w1": (2.0, 0.05, 0.2),
    "separation": (2.0, 0.01, 0.05),
    "auc": (1.0, 0.55, 0.75),
    "frechet": (2.0, 0.1, 1.0),
}


def verdict(kind: str, value: float, reference: float) -> str:
    if not np.isfinite(value):
        return "n/a"
    factor, floor, fair = THRESHOLDS[kind]
    if kind == "auc":
        good = max(reference + 0.02, floor) if np.isfinite(reference) else floor
    else:
        good = max(reference * factor, floor) if np.isfinite(reference) else floor
    return "good" if value <= good else "fair" if value <= fair else "poor"


@dataclass
class Row:
    metric: str
    value: float
    reference: float
    verdict: str


@dataclass
class EvaluationReport:
    real_path: str
    generated_path: str
    n_real: int
    n_generated: int
    observables: list[dict[str, Any]]  # per observable: w1 and separation power with references
    summary: list[Row]
    conditional: dict[str, float] | None
    seconds: float
    per_dom_hit_rate_difference: float
    real: Observables = field(repr=False)
    generated: Observables = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"real": self.real_path, "generated": self.generated_path, "n_real": self.n_real,
                "n_generated": self.n_generated, "observables": self.observables,
                "summary": [vars(r) for r in self.summary], "conditional": self.conditional,
                "per_dom_hit_rate_difference": self.per_dom_hit_rate_difference, "seconds": self.seconds}


def _subset(obs: Observables, index: np.ndarray) -> dict[str, np.ndarray]:
    return {name: values[index] for name, values in obs.high.items()}


def evaluate_files(real_path: Path, generated_path: Path, *, seed: int = 0) -> EvaluationReport:
    """Evaluate; metrics that cannot be computed (e.g. too few events, no hits) are NaN, not warnings."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return _evaluate(real_path, generated_path, seed)


def _evaluate(real_path: Path, generated_path: Path, seed: int) -> EvaluationReport:
    started = time.perf_counter()
    real = file_observables(real_path, low_level_limit=2 * LOW_LEVEL_EVENTS, seed=seed)
    generated = file_observables(generated_path, low_level_limit=LOW_LEVEL_EVENTS, seed=seed + 1)
    n = len(real.labels)
    halves = np.array_split(np.random.default_rng(seed).permutation(n), 2)
    a, b = _subset(real, halves[0]), _subset(real, halves[1])
    rows = []
    for name, (label, unit) in HIGH_LEVEL.items():
        w1, w1_ref = metrics.scaled_wasserstein1(a[name], generated.high[name]), metrics.scaled_wasserstein1(a[name], b[name])
        sep, sep_ref = metrics.separation_power(a[name], generated.high[name]), metrics.separation_power(a[name], b[name])
        rows.append({"name": name, "label": label, "unit": unit, "w1": w1, "w1_reference": w1_ref,
                     "w1_verdict": verdict("w1", w1, w1_ref), "separation": sep, "separation_reference": sep_ref,
                     "separation_verdict": verdict("separation", sep, sep_ref)})

    scale_mean = np.nanmean(real.matrix(), axis=0)
    scale_std = np.nanstd(real.matrix(), axis=0) + 1e-9
    standardise = lambda m: (m - scale_mean) / scale_std  # noqa: E731
    matrix_a = standardise(np.stack([a[k] for k in HIGH_LEVEL], axis=1))
    matrix_b = standardise(np.stack([b[k] for k in HIGH_LEVEL], axis=1))
    matrix_g = standardise(generated.matrix())
    fd, fd_ref = metrics.frechet_distance(matrix_a, matrix_g), metrics.frechet_distance(matrix_a, matrix_b)
    auc_high, auc_high_ref = classifier_auc(matrix_a, matrix_g, seed=seed), classifier_auc(matrix_a, matrix_b, seed=seed)
    split_at = min(LOW_LEVEL_EVENTS, len(real.low_level) // 2)  # small files: halves of what there is
    low_a, low_b = real.low_level[:split_at], real.low_level[split_at:2 * split_at]
    auc_low = classifier_auc(low_a, generated.low_level, seed=seed)
    auc_low_ref = classifier_auc(low_a, low_b, seed=seed) if len(low_b) else float("nan")
    summary = [
        Row("classifier AUC, high-level", auc_high, auc_high_ref, verdict("auc", auc_high, auc_high_ref)),
        Row("classifier AUC, per-DOM", auc_low, auc_low_ref, verdict("auc", auc_low, auc_low_ref)),
        Row("Frechet distance, high-level", fd, fd_ref, verdict("frechet", fd, fd_ref)),
    ]
    rate_diff = float(np.abs(real.dom_hit_rate - generated.dom_hit_rate).mean() / max(real.dom_hit_rate.mean(), 1e-12))
    return EvaluationReport(str(real_path), str(generated_path), n, len(generated.labels), rows, summary,
                            conditional_fidelity(real, generated), time.perf_counter() - started, rate_diff,
                            real, generated)


def conditional_fidelity(real: Observables, generated: Observables) -> dict[str, float] | None:
    """Event-by-event comparison when the generated file reuses the real labels (same events)."""
    if len(real.labels) != len(generated.labels) or not np.allclose(real.labels, generated.labels, rtol=1e-5, atol=1e-3):
        return None
    q_real, q_gen = real.high["log10_charge"], generated.high["log10_charge"]
    log_e = np.log10(real.labels[:, 0])
    ok = np.isfinite(q_real) & np.isfinite(q_gen)
    cog_real = np.stack([real.high[k] for k in ("cog_x", "cog_y", "cog_z")], axis=1)
    cog_gen = np.stack([generated.high[k] for k in ("cog_x", "cog_y", "cog_z")], axis=1)
    cog_distance = np.linalg.norm(cog_real - cog_gen, axis=1)
    vertex_real = np.linalg.norm(cog_real - real.labels[:, 3:6], axis=1)
    vertex_gen = np.linalg.norm(cog_gen - real.labels[:, 3:6], axis=1)
    return {
        "events": int(ok.sum()),
        "charge_correlation": float(np.corrcoef(q_real[ok], q_gen[ok])[0, 1]) if ok.sum() > 2 else float("nan"),
        "median_abs_log10_charge_difference": float(np.median(np.abs(q_real[ok] - q_gen[ok]))),
        "charge_vs_energy_slope_real": float(np.polyfit(log_e[ok], q_real[ok], 1)[0]) if ok.sum() > 2 else float("nan"),
        "charge_vs_energy_slope_generated": float(np.polyfit(log_e[ok], q_gen[ok], 1)[0]) if ok.sum() > 2 else float("nan"),
        "median_cog_distance_m": float(np.nanmedian(cog_distance)),
        "median_cog_to_vertex_real_m": float(np.nanmedian(vertex_real)),
        "median_cog_to_vertex_generated_m": float(np.nanmedian(vertex_gen)),
        "median_linefit_angle_real_deg": float(np.nanmedian(real.linefit_angle)),
        "median_linefit_angle_generated_deg": float(np.nanmedian(generated.linefit_angle)),
    }
