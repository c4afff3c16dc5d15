"""The physics verdict on generated events: every check beside what simulation itself shows.

The checks, each judged by verdicts.py:

- memorisation and diversity (copies.py): generated events that copy real events, exactly or
  nearly, or repeat each other; with ``--training-data``, copies of training events and the
  nearest-neighbour test against the training file;
- physics shifts with standard errors (shifts.py): energy scale, time offset, extra time spread,
  direction, azimuth, CoG offsets along and across the track;
- classifier AUCs on (event features, labels) and on (per-DOM hits in the event's frame, labels),
  cross-validated with folds grouped by pairing, judged by their significance at the test's size;
  an AUC far below 0.5 is a judge alarm (the events mirror the real ones);
- a Frechet distance and the charge-vs-energy slope; every observable (observables.py: event,
  label-aware, energy residuals, per-hit npe and times) by the W1 of the probability integral
  transform and by separation power; the worst energy and zenith bin of the key observables: each
  against the same distance between real events at the test's own sizes (reference.py).
Generated events made for the real events' labels are paired with them (pairing.py). Fewer than
``evaluation.min_events`` events on either side: TOO FEW EVENTS, not a verdict.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from genesis_cli.engine.atomic_files import write_text_atomic
from genesis_cli.engine.data.eventfile import INTERRUPTED_NOTE, EventFile
from genesis_cli.engine.evaluation import metrics
from genesis_cli.engine.evaluation.classifier import classifier_auc
from genesis_cli.engine.evaluation.copies import (
    COPIES,
    DUPLICATES,
    MEMORISED,
    TRAINING_COPIES,
    CopyCheck,
    MemorisationCheck,
    copies_of,
    memorisation,
    repeats,
)
from genesis_cli.engine.evaluation.features import RESIDUALS, dom_rows, event_rows
from genesis_cli.engine.evaluation.observables import HIGH_LEVEL, LABEL_AWARE, Observables, file_observables
from genesis_cli.engine.evaluation.pairing import Pairing
from genesis_cli.engine.evaluation.physics import PhysicsSummary, charge_energy_fit, summarise
from genesis_cli.engine.evaluation.reference import (
    BINNED,
    DOM_AUC,
    FRECHET,
    HIGH_AUC,
    SLOPE,
    RealReference,
    bin_index,
    columns,
    worst_bin,
)
from genesis_cli.engine.evaluation.shifts import BINNED_TIME_OFFSET, Shift, binned_time_offsets, physics_shifts
from genesis_cli.engine.evaluation.verdicts import (
    FAIR,
    GOOD,
    POOR,
    TOO_FEW,
    UNKNOWN,
    Overall,
    overall,
    significance_verdict,
    too_few,
    verdict,
)
from genesis_cli.engine.outputs import same_file
from genesis_cli.errors import UsageError
from genesis_cli.settings.evaluation import EvaluationConfig

KINDS = {**{k: "event" for k in HIGH_LEVEL}, **{k: "label-aware" for k in (*LABEL_AWARE, *RESIDUALS)}}
PER_HIT = {"hit_npe": ("npe of hit DOMs (log10)", "log10 PE"), "hit_time": ("hit time", "ns"),
           "hit_delay": ("hit time after the event's first hit", "ns")}
MIRRORED = "judge alarm: classifier AUC far below 0.5"


@dataclass
class Row:
    metric: str
    value: float
    reference: float
    verdict: str
    error: float = float("nan")  # the value's statistical error, where known (AUCs)


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
    shifts: list[Shift]
    copies: list[CopyCheck]  # of real events, within the generated file, of training events
    memorisation: MemorisationCheck | None  # with --training-data
    pairs: int  # generated events made for a real event's labels
    reference_sizes: tuple[int, int]  # real-vs-real draws: events standing in for the generated, and the rest
    physics_real: PhysicsSummary
    physics_generated: PhysicsSummary
    conditional: dict[str, float] | None  # event by event, when the generated file reuses the real labels
    overall: Overall
    seconds: float
    per_dom_hit_rate_difference: float
    real: Observables = field(repr=False)
    generated: Observables = field(repr=False)
    notes: list[str] = field(default_factory=list)  # what a reader should know about the inputs
    training_path: str = ""
    onset_bins: list[Shift] = field(default_factory=list)  # the time offset per energy x zenith bin

    @property
    def overall_verdict(self) -> str:
        return self.overall.verdict

    def to_dict(self) -> dict[str, Any]:
        return {"real": self.real_path, "generated": self.generated_path, "training": self.training_path or None,
                "n_real": self.n_real, "n_generated": self.n_generated, "pairs": self.pairs,
                "reference_sizes": list(self.reference_sizes), "summary": [asdict(r) for r in self.summary],
                "shifts": [asdict(s) for s in self.shifts], "onset_bins": [asdict(s) for s in self.onset_bins],
                "copies": [{**asdict(c), "fraction": c.fraction} for c in self.copies],
                "memorisation": asdict(self.memorisation) if self.memorisation else None,
                "observables": [asdict(o) for o in self.observables], "binned": [asdict(r) for r in self.binned],
                "physics": {"real": self.physics_real.to_dict(), "generated": self.physics_generated.to_dict()},
                "conditional": self.conditional, "verdict": self.overall.verdict, "verdict_line": self.overall.line,
                "poor": list(self.overall.poor), "fair": list(self.overall.fair),
                "per_dom_hit_rate_difference": self.per_dom_hit_rate_difference, "seconds": self.seconds,
                "notes": self.notes}

    def save_json(self, path: Path) -> Path:
        """The report as JSON (`genesis evaluate --json`), written atomically."""
        return write_text_atomic(path, json.dumps(strict_json(self.to_dict()), indent=2, allow_nan=False))


def strict_json(value: Any) -> Any:
    """``value`` as strict JSON data: NaN and infinities (undefined figures) become null, numpy scalars
    plain numbers, tuples lists, so any parser reads it (bare NaN tokens are not JSON)."""
    if isinstance(value, dict):
        return {str(key): strict_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(item) for item in value]
    if isinstance(value, np.ndarray):
        return strict_json(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def evaluate_files(real_path: Path, generated_path: Path, *, seed: int = 0, settings: EvaluationConfig | None = None,
                   training_path: Path | None = None, generated_reference: bool = False) -> EvaluationReport:
    """Evaluate two event files by the evaluation ``settings`` (None: the defaults), and with
    ``training_path`` look for memorised training events; metrics that cannot be computed are NaN.
    ``real_path`` must be simulation (a file `genesis sample` wrote is refused as swapped files) unless
    ``generated_reference``: one generated sample judged against another (benchmarks/sampler_quality.py)."""
    settings = settings or EvaluationConfig()
    started = time.perf_counter()
    paths = [real_path, generated_path] + ([training_path] if training_path is not None else [])
    if same_file(real_path, generated_path):
        raise UsageError(f"--real-data and --generated-data are the same file ({real_path}): a file judged against "
                         "itself says nothing", hint="pass held-out simulation as --real-data and the generated "
                                                     "events as --generated-data")
    with EventFile(real_path) as real_file:
        if not generated_reference and real_file.attributes().get("generator") == "genesis sample":
            raise UsageError(f"--real-data {real_path}: was written by `genesis sample` (its provenance): the judge "
                             "needs simulation on the real side",
                             hint="swap the files: --real-data SIMULATION.h5 --generated-data GENERATED.h5")
        for path in paths[1:]:
            with EventFile(path) as other:
                if other.n_doms != real_file.n_doms:
                    raise UsageError(f"{path}: has {other.n_doms:,} DOMs per event, {real_path} has "
                                     f"{real_file.n_doms:,}", hint="compare events of the same detector")
    notes = []
    for path in paths:
        with EventFile(path) as events:
            if events.interrupted:
                notes.append(f"{path}: {INTERRUPTED_NOTE}")
            recorded = events.attributes().get("training_data") if path == generated_path else None
        if training_path is None and recorded and Path(recorded).exists() and same_file(Path(recorded), real_path):
            notes.append(f"{real_path}: the model that generated {generated_path} was trained on this file (its "
                         f"provenance): judge against held-out events, and pass --training-data {recorded} to look "
                         "for memorised ones")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        real = file_observables(real_path, dom_limit=2 * settings.dom_events, seed=seed)
        generated = file_observables(generated_path, dom_limit=settings.dom_events, seed=seed + 1)
        training = None if training_path is None else file_observables(
            training_path, dom_limit=0, seed=seed + 2, limit=settings.training_events, hit_samples=0)
        report = compare_observables(RealReference.of(real, seed, settings), generated, seed=seed, training=training)
    if training is not None:
        overlap = int(np.isin(real.hashes, training.hashes).sum())
        if overlap:
            notes.append(f"{real_path}: {overlap:,} of its {len(real.labels):,} events are also in the training file "
                         f"{training_path}; judge against held-out events the model never saw")
        if len(training.labels) < _events(training_path):
            notes.append(f"{training_path}: searched its first {len(training.labels):,} events "
                         "(evaluation.training_events)")
    report.real_path, report.generated_path = str(real_path), str(generated_path)
    report.training_path = str(training_path) if training_path is not None else ""
    report.notes = notes + report.notes
    report.seconds = time.perf_counter() - started
    return report


def _events(path: Path) -> int:
    with EventFile(path) as events:
        return events.n_events


def _observable_rows(ref: RealReference, generated: Observables, n: int) -> list[ObservableRow]:
    real, fit, settings = ref.real, ref.fit, ref.settings
    real_cols, gen_cols = columns(real, fit), columns(generated, fit)
    rows = []
    for name in real_cols:
        label, unit = {**HIGH_LEVEL, **LABEL_AWARE, **RESIDUALS, **PER_HIT}[name]
        w1 = metrics.pit_wasserstein1(real_cols[name], gen_cols[name])
        sep = metrics.separation_power(real_cols[name], gen_cols[name])
        w1_ref, sep_ref = ref.at(n).observables[name]
        kind = KINDS.get(name, "per-hit")
        w1_rule = "hit_w1" if kind == "per-hit" else "w1"
        rows.append(ObservableRow(name, label, unit, kind, w1, w1_ref, verdict(w1_rule, w1, w1_ref, settings),
                                  sep, sep_ref, verdict("separation", sep, sep_ref, settings)))
    return rows


def _binned_rows(ref: RealReference, generated: Observables, n: int) -> list[Row]:
    rows = []
    for binning_name, binning in bin_index(ref.real).items():
        for name in BINNED:
            value, where = worst_bin(ref.real, generated, ref.fit, name, binning)
            reference = ref.at(n).binned[(binning_name, name)]
            rows.append(Row(f"{name} per {binning_name} bin (worst: bin {where + 1})", value, reference,
                            verdict("binned_w1", value, reference, ref.settings)))
    return rows


def _summary_rows(ref: RealReference, generated: Observables, pairing: Pairing, seed: int) -> list[Row]:
    real, fit, settings = ref.real, ref.fit, ref.settings
    sized = ref.at(len(generated.labels))
    high = classifier_auc(event_rows(real, fit), event_rows(generated, fit), real_groups=pairing.real_groups,
                          other_groups=pairing.generated_groups, seed=seed, settings=settings)
    low = classifier_auc(dom_rows(real), dom_rows(generated), real_groups=pairing.real_groups[real.dom_event],
                         other_groups=pairing.generated_groups[generated.dom_event], seed=seed, settings=settings)
    rows = [Row(metric, result.auc, sized.summary[metric],
                significance_verdict(result.auc - 0.5, (result.auc - 0.5) / result.null_sigma, settings.auc),
                result.null_sigma) for metric, result in ((HIGH_AUC, high), (DOM_AUC, low))]
    frechet = ref.frechet(real, generated)
    slope = abs(charge_energy_fit(generated)[0] - charge_energy_fit(real)[0])
    rows.append(Row(FRECHET, frechet, sized.summary[FRECHET], verdict("frechet", frechet, sized.summary[FRECHET], settings)))
    rows.append(Row(SLOPE, slope, sized.summary[SLOPE], verdict("slope", slope, sized.summary[SLOPE], settings)))
    return rows


def compare_observables(real: Observables | RealReference, generated: Observables, *, seed: int = 0,
                        training: Observables | None = None) -> EvaluationReport:
    """The report on ``generated`` against ``real`` (observables, judged by the default evaluation
    settings, or their reference computed before, judged by its settings), and against ``training``."""
    started = time.perf_counter()
    ref = real if isinstance(real, RealReference) else RealReference.of(real, seed)
    real, settings, n = ref.real, ref.settings, len(generated.labels)
    pairing = Pairing.of(real.labels, generated.labels)
    copies = [copies_of(generated, real, settings), repeats(generated, settings)]
    memorised = None
    if training is not None:
        copies.append(copies_of(generated, training, settings, name=TRAINING_COPIES, search=False))
        memorised = memorisation(training, real, generated, settings)
    shifts = physics_shifts(real, generated, ref.fit, pairing, settings, seed)
    onset_bins = binned_time_offsets(real, generated, pairing, settings, seed)
    summary = _summary_rows(ref, generated, pairing, seed)
    binned = _binned_rows(ref, generated, n)
    rows = _observable_rows(ref, generated, n)

    verdicts = {c.name: c.verdict for c in copies}
    if memorised is not None:
        verdicts[MEMORISED] = memorised.verdict
    mirrored = [r for r in summary[:2] if math.isfinite(r.value) and (0.5 - r.value) / r.error > settings.auc[1]]
    if mirrored:
        verdicts[MIRRORED] = POOR
    verdicts.update({s.name: s.verdict for s in shifts})
    if onset_bins:
        verdicts[BINNED_TIME_OFFSET] = _worst(s.verdict for s in onset_bins)
    verdicts.update({row.metric: row.verdict for row in summary + binned})
    for o in rows:
        verdicts[f"{o.name} W1"] = o.w1_verdict
        verdicts[f"{o.name} separation"] = o.separation_verdict
    judged = too_few(len(real.labels), n, settings) or overall(verdicts, _headline(copies, memorised, mirrored, shifts))
    if judged.verdict == TOO_FEW:  # figures are shown, but nothing this small is judged good or poor
        summary, binned, shifts, copies, onset_bins = ([replace(item, verdict=UNKNOWN) for item in group]
                                                       for group in (summary, binned, shifts, copies, onset_bins))
        rows = [replace(o, w1_verdict=UNKNOWN, separation_verdict=UNKNOWN) for o in rows]
        memorised = replace(memorised, verdict=UNKNOWN) if memorised is not None else None
    rate_diff = float(np.abs(real.dom_hit_rate - generated.dom_hit_rate).mean() / max(real.dom_hit_rate.mean(), 1e-12))
    sized = ref.at(n)
    notes = [f"the real-vs-real {m} is {r.auc:.3f}, {abs(r.auc - 0.5) / r.null_sigma:.1f} sigma from 0.5: "
             "the judge's classifier sees structure within the real file itself (duplicated or sorted events?)"
             for m, r in sized.classifiers.items() if math.isfinite(r.auc) and abs(r.auc - 0.5) / r.null_sigma > settings.auc[1]]
    return EvaluationReport("", "", len(real.labels), n, summary, rows, binned, shifts, copies, memorised, pairing.pairs,
                            sized.draw_sizes, summarise(real), summarise(generated, real),
                            conditional_fidelity(real, generated, pairing), judged, time.perf_counter() - started,
                            rate_diff, real, generated, notes, onset_bins=onset_bins)


def _worst(verdicts: Iterable[str]) -> str:
    """The worst of some verdicts: poor over fair over good; n/a only when nothing was judged."""
    found = set(verdicts)
    return next((v for v in (POOR, FAIR, GOOD) if v in found), UNKNOWN)


def _headline(copies: list[CopyCheck], memorised: MemorisationCheck | None, mirrored: list[Row],
              shifts: list[Shift]) -> str:
    """The most telling finding, in words: memorised, low diversity, a judge alarm or the worst shift."""
    by_name = {c.name: c for c in copies}
    for name, words in ((COPIES, "copy real events"), (TRAINING_COPIES, "copy training events")):
        check = by_name.get(name)
        if check is not None and check.verdict == POOR:
            return f"memorised: {check.fraction:.1%} of the generated events {words}"
    if memorised is not None and memorised.verdict == POOR:
        return (f"memorised: the generated events lie closer to the training events than simulation does "
                f"(nearest-neighbour AUC {memorised.auc:.3f})")
    if by_name[DUPLICATES].verdict == POOR:
        return f"low diversity: {by_name[DUPLICATES].fraction:.1%} of the generated events repeat others"
    if mirrored:
        return f"judge alarm: {mirrored[0].metric} {mirrored[0].value:.3f}: the generated events mirror the real ones (copied or paired)"
    poor = [s for s in shifts if s.verdict == POOR]
    return ", ".join(f"{s.name} {s.text()}" for s in poor[:3])


def conditional_fidelity(real: Observables, generated: Observables, pairing: Pairing) -> dict[str, float] | None:
    """Event-by-event comparison of generated events with the real events whose labels they reuse."""
    if not pairing.paired:
        return None
    r, g = pairing.real_index, pairing.generated_index
    q_real, q_gen = real.high["log10_charge"][r], generated.high["log10_charge"][g]
    ok = np.isfinite(q_real) & np.isfinite(q_gen)
    cog_real = np.stack([real.high[k][r] for k in ("cog_x", "cog_y", "cog_z")], axis=1)
    cog_gen = np.stack([generated.high[k][g] for k in ("cog_x", "cog_y", "cog_z")], axis=1)
    return {
        "events": int(ok.sum()),
        "charge_correlation": float(np.corrcoef(q_real[ok], q_gen[ok])[0, 1]) if ok.sum() > 2 else float("nan"),
        "median_abs_log10_charge_difference": float(np.median(np.abs(q_real[ok] - q_gen[ok]))) if ok.any() else float("nan"),
        "median_cog_distance_m": float(np.nanmedian(np.linalg.norm(cog_real - cog_gen, axis=1))),
    }
