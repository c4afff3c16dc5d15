"""The judge's verdicts on known distortions: does `genesis evaluate` fail what it must?

    python benchmarks/judge.py [--events 2000] [--seed 1] [--out judge] [--json FILE]

Simulates a reference file and an independent one (another seed), writes each distortion of
genesis_cli.engine.evaluation.distortions applied to the independent events as its own file, and
judges every file against the reference exactly as `genesis evaluate --real-data reference.h5
--generated-data FILE` does. Prints one Markdown row per file: the overall verdict, whether the
check that exposes the distortion is poor, the AUCs and the poor checks. The undistorted
independent simulation must PASS and every distortion must FAIL.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from genesis_cli.engine.data.eventfile import EventFile
from genesis_cli.engine.data.writer import EventWriter
from genesis_cli.engine.detector import icecube_like_geometry
from genesis_cli.engine.evaluation.distortions import DISTORTIONS
from genesis_cli.engine.evaluation.report import evaluate_files
from genesis_cli.engine.simulation.runner import simulate_to_file
from genesis_cli.settings.simulation import SimulationConfig

DISTORTION_SEED = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("judge"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    geometry = icecube_like_geometry()
    reference, independent = args.out / "reference.h5", args.out / "independent.h5"
    for path, seed in ((reference, args.seed), (independent, args.seed + 1)):
        simulate_to_file(path, SimulationConfig(events=args.events, seed=seed), geometry, overwrite=True)
    with EventFile(independent) as file:
        signals, labels = file.signals(0, file.n_events), file.labels(0, file.n_events)
    cases: dict[str, tuple[Path, str]] = {"independent simulation (no distortion)": (independent, "")}
    for name, (distort, exposing) in DISTORTIONS.items():
        path = args.out / f"{name.replace(' ', '_').replace('%', 'pct')}.h5"
        distorted, distorted_labels = distort(signals, labels, np.random.default_rng(DISTORTION_SEED))
        with EventWriter(path, geometry, overwrite=True) as writer:
            writer.append(distorted, distorted_labels)
            writer.finish()
        cases[name] = (path, exposing)
    print("| events judged | verdict | exposing check poor | AUC high-level | AUC per-DOM | poor checks (count: first) |")
    print("|---|---|---|---|---|---|")
    results = []
    for name, (path, exposing) in cases.items():
        report = evaluate_files(reference, path, seed=args.seed)
        aucs = [row.value for row in report.summary if "AUC" in row.metric]
        exposed = "-" if not exposing else ("yes" if exposing in report.overall.poor else "no")
        print(f"| {name} | {report.overall.verdict} | {exposing + ': ' if exposing else ''}{exposed} | "
              f"{aucs[0]:.3f} | {aucs[1]:.3f} | {_shown(report.overall.poor)} |", flush=True)
        results.append({"case": name, "verdict": report.overall.verdict, "line": report.overall.line,
                        "exposing_check": exposing, "poor": list(report.overall.poor), "aucs": aucs})
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def _shown(checks: tuple[str, ...], first: int = 4) -> str:
    """The number of poor checks and the first few by name."""
    if not checks:
        return "-"
    more = f" and {len(checks) - first} more" if len(checks) > first else ""
    return f"{len(checks)}: {', '.join(checks[:first])}{more}"


if __name__ == "__main__":
    main()
