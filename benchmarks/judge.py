"""The judge's verdicts on known cases: does `genesis evaluate` pass what it must and fail what it must?

    python benchmarks/judge.py [--events 3000] [--seed 1] [--out judge] [--json FILE] [--case NAME ...]
    python benchmarks/judge.py --real-vs-real 3 [--events 2000]
    python benchmarks/judge.py --null 200 --seeds 4 [--events 2000]

Simulates a reference file, its twin (the simulator on the reference's labels with another seed:
the perfect generator) and an independent simulation, writes every case of
genesis_cli.engine.evaluation.distortions.CASES as its own file, and judges each against the
reference exactly as `genesis evaluate --real-data reference.h5 --generated-data FILE` does. Prints
one Markdown row per case: the verdict it got, the one it must get, whether the check that must
name it did, the AUCs and the poor checks. ``--real-vs-real K`` instead judges K independent
simulations against K others (seed pairs), each of which must PASS. ``--null SIZE`` calibrates the
distance rules: it judges disjoint SIZE-event slices of the perfect generator (``--seeds`` reference
files) and prints, per kind of distance, the largest ratio of a distance to its real-vs-real
reference in each slice: what the noise factors of ``evaluation.w1`` and the others must exceed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from genesis_cli.engine.data.writer import EventWriter
from genesis_cli.engine.detector import Geometry, icecube86_geometry
from genesis_cli.engine.evaluation.distortions import CASES, Events, simulated_inputs
from genesis_cli.engine.evaluation.observables import Observables, collect
from genesis_cli.engine.evaluation.reference import FRECHET, RealReference
from genesis_cli.engine.evaluation.report import EvaluationReport, compare_observables, evaluate_files


def write(path: Path, events: Events, geometry: Geometry) -> Path:
    with EventWriter(path, geometry, overwrite=True) as writer:
        writer.append(*events)
        writer.finish()
    return path


def measured(check: str, report: EvaluationReport) -> str:
    """What the judge measured on ``check``: a shift with its error, a share of copies, an AUC or a distance."""
    for shift in report.shifts:
        if shift.name == check:
            return shift.text() + (f" ({shift.detail})" if shift.detail else "")
    for copies in report.copies:
        if copies.name == check:
            return f"{copies.fraction:.1%}"
    for summary in report.summary:
        if summary.metric == check:
            return f"{summary.value:.3f}"
    for observable in report.observables:
        if check == f"{observable.name} W1":
            return f"{observable.w1:.3f} (ref {observable.w1_reference:.3f})"
    return ""


def row(name: str, expect: str, check: str, report: EvaluationReport, ok: bool, seconds: float) -> dict[str, object]:
    aucs = {r.metric: r.value for r in report.summary if "AUC" in r.metric}
    return {"case": name, "events": report.n_generated, "verdict": report.overall.verdict, "expect": expect,
            "met": ok, "measured": measured(check, report) if check else "", "line": report.overall.line,
            "aucs": aucs, "poor": list(report.overall.poor), "fair": list(report.overall.fair),
            "shifts": {s.name: s.text() for s in report.shifts}, "seconds": seconds}


def print_row(r: dict[str, object]) -> None:
    aucs = " / ".join(f"{v:.3f}" for v in r["aucs"].values())  # type: ignore[union-attr]
    print(f"| {r['case']} | {r['events']:,} | {r['verdict']} | {r['expect']} | {'yes' if r['met'] else '**no**'} | "
          f"{r['measured'] or '-'} | {aucs} | {_shown(r['poor'])} | {r['seconds']:.0f} |", flush=True)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("judge"))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--case", dest="cases", action="append", metavar="NAME",
                        help="judge only this case (repeatable)")
    parser.add_argument("--real-vs-real", type=int, default=0, metavar="K",
                        help="judge K independent seed pairs instead")
    parser.add_argument("--null", type=int, default=0, metavar="SIZE",
                        help="largest distance-to-reference ratios of SIZE-event slices of the perfect generator")
    parser.add_argument("--seeds", type=int, default=3, help="with --null: reference files (seeds) to slice against")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    geometry = icecube86_geometry()
    if args.null:
        null_ratios(args.null, args.events, args.seeds, args.seed, geometry)
        return
    print("| case | events judged | verdict | must be | met | measured | AUC high-level / per-DOM | poor checks | s |")
    print("|---|---|---|---|---|---|---|---|---|")
    results = []
    if args.real_vs_real:
        for k in range(args.real_vs_real):
            seed = args.seed + 10 * k
            inputs = simulated_inputs(args.events, seed, geometry)
            reference = write(args.out / f"real_{seed}.h5", inputs.real, geometry)
            other = write(args.out / f"independent_{seed}.h5", inputs.independent, geometry)
            started = time.perf_counter()
            report = evaluate_files(reference, other, seed=seed)
            results.append(row(f"real vs real, seeds {seed} and {seed + 2}", "PASS", "", report,
                               report.overall.verdict == "PASS", time.perf_counter() - started))
            print_row(results[-1])
    else:
        inputs = simulated_inputs(args.events, args.seed, geometry)
        reference = write(args.out / "reference.h5", inputs.real, geometry)
        chosen = [c for c in CASES if not args.cases or c.name in args.cases]
        for case in chosen:
            signals, labels = case.make(inputs)
            path = write(args.out / f"{_slug(case.name)}.h5", (signals[:case.events], labels[:case.events]), geometry)
            started = time.perf_counter()
            report = evaluate_files(reference, path, seed=args.seed)
            results.append(row(case.name, case.expect + (f" ({case.check})" if case.check else ""), case.check, report,
                               case.met_by(report.overall), time.perf_counter() - started))
            print_row(results[-1])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float))


def observe(events: Events, geometry: Geometry) -> Observables:
    signals, labels = events
    with np.errstate(all="ignore"):
        return collect(((signals[i:i + 256], labels[i:i + 256]) for i in range(0, len(signals), 256)), geometry,
                       dom_limit=len(signals))


def null_ratios(size: int, events: int, seeds: int, first_seed: int, geometry: Geometry) -> None:
    """Per slice of the perfect generator, the largest distance/reference ratio of each kind of distance
    (and the largest distance itself: the floors and fair limits protect what the ratios do not)."""
    worst: dict[str, list[tuple[float, float]]] = {}
    verdicts: list[str] = []
    for seed in range(first_seed, first_seed + seeds):
        inputs = simulated_inputs(events, seed, geometry)
        reference = RealReference.of(observe(inputs.real, geometry), seed)
        twin = observe(inputs.twin, geometry)
        for start in range(0, events - size + 1, size):
            with np.errstate(all="ignore"):
                report = compare_observables(reference, twin.subset(np.arange(start, start + size)), seed=seed)
            verdicts.append(report.overall.verdict)
            frechet = next(r for r in report.summary if r.metric == FRECHET)
            event_rows = [o for o in report.observables if o.kind != "per-hit"]
            hit_rows = [o for o in report.observables if o.kind == "per-hit"]
            pairs = {"W1, per event": [(o.w1, o.w1_reference) for o in event_rows],
                     "W1, per hit": [(o.w1, o.w1_reference) for o in hit_rows],
                     "separation, per event": [(o.separation, o.separation_reference) for o in event_rows],
                     "separation, per hit": [(o.separation, o.separation_reference) for o in hit_rows],
                     "worst-bin W1": [(r.value, r.reference) for r in report.binned],
                     "Frechet": [(frechet.value, frechet.reference)]}
            for kind, values in pairs.items():
                finite = [(v, v / r) for v, r in values if np.isfinite(v / r)]
                worst.setdefault(kind, []).append((max(q for _, q in finite), max(v for v, _ in finite)))
    print(f"| distance | slices of {size} events | largest ratio to its reference per slice: median | 90% | "
          "largest | largest value |")
    print("|---|---|---|---|---|---|")
    for kind, values in worst.items():
        ratios = np.array([q for q, _ in values])
        print(f"| {kind} | {len(values)} | {np.median(ratios):.2f} | {np.quantile(ratios, 0.9):.2f} | "
              f"{ratios.max():.2f} | {max(v for _, v in values):.4f} |")
    print("verdicts: " + ", ".join(f"{verdicts.count(v)} {v}" for v in sorted(set(verdicts))))


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_")


def _shown(checks: list[str], first: int = 4) -> str:
    """The number of poor checks and the first few by name."""
    if not checks:
        return "-"
    more = f" and {len(checks) - first} more" if len(checks) > first else ""
    return f"{len(checks)}: {', '.join(checks[:first])}{more}"


if __name__ == "__main__":
    main()
