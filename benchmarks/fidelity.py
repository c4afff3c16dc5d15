"""The fidelity benchmark: train a preset for a fixed budget and judge its events against simulation.

    python benchmarks/fidelity.py --preset cpu --budget 30m [--train-events 20000] [--heldout-events 2000]
        [--data-style toy|original] [--geometry FILE.csv] [--out DIR] [--set KEY=VALUE ...]
        [--device cpu] [--threads 2] [--reuse] [--json FILE] [--spread-labels 20] [--spread-draws 100]
    python benchmarks/fidelity.py --preset cpu --curve 10m,20m,30m ...     # AUC against training minutes
    python benchmarks/fidelity.py --preset cpu --out DIR --distill 1,2,4 --distill-budget 30m [--guidance-scale 1]

Simulates a training file and a held-out file (different seeds), trains the preset for the budget
(steps such as 3000, or time such as 30m), generates events for the held-out labels with the
default sampler, runs `genesis evaluate` and prints one Markdown row: the label-aware judge's AUCs,
each physics quantity as "generated (simulation)", and the overall verdict. `--data-style
original` shuffles the detector's DOM order and simulates PeV energies, as the original GENESIS
files had. `--reuse` keeps the files already in --out (re-judging a run without training again). Each row
also gives the event-to-event spread at fixed labels (benchmarks/spread.py; `--spread-labels 0`
skips it). `--curve` trains one run per budget on the same files, each with its whole learning-rate
schedule, and ends with a table of AUC against training minutes. `--distill` distils the run in --out
(trained first unless it is there) with `genesis distill` for --distill-budget and judges the teacher
and the student at each step count against simulation, each student against the teacher
(bench/distilled.py).
The table in docs/performance.md was made with this script.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch

from genesis_cli.engine.bench.distilled import DistillPlan, run_distilled
from genesis_cli.engine.bench.distilled import markdown_table as distilled_table
from genesis_cli.engine.bench.fidelity import (
    DATA_STYLES,
    FidelityPlan,
    FidelityResult,
    curve_table,
    markdown_row,
    run_curve,
    run_fidelity,
)
from genesis_cli.engine.runs.store import FINAL


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--budget", default="30m", help="steps (3000) or time (30m)")
    parser.add_argument("--train-events", type=int, default=20_000)
    parser.add_argument("--heldout-events", type=int, default=2_000)
    parser.add_argument("--data-style", choices=DATA_STYLES, default="toy")
    parser.add_argument("--geometry", type=Path, help="geometry CSV (default: the built-in IceCube)")
    parser.add_argument("--out", type=Path, default=Path("fidelity"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", help="keep the data, run and samples found in --out")
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument("--spread-labels", type=int, default=20, help="labels of the spread check (0: skip it)")
    parser.add_argument("--spread-draws", type=int, default=100, help="events per label of the spread check")
    parser.add_argument("--curve", help="comma-separated budgets (10m,20m,30m): one run each, and the AUC curve")
    parser.add_argument("--distill", help="comma-separated student steps (1,2,4): distil the run in --out and judge")
    parser.add_argument("--distill-budget", default="30m", help="distillation steps (2000) or time (30m)")
    parser.add_argument("--guidance-scale", type=float, default=1.0, help="guidance folded into the student")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    plan = FidelityPlan(args.preset, args.budget, args.train_events, args.heldout_events, args.out, args.data_style,
                        args.geometry, args.seed, args.device, tuple(args.overrides), args.reuse,
                        spread_labels=args.spread_labels, spread_draws=args.spread_draws)
    say = lambda text: print(text, flush=True)  # noqa: E731
    if args.distill:
        distil(plan, args, say)
        return
    if args.curve:
        results = run_curve(plan, tuple(b.strip() for b in args.curve.split(",")), say)
    else:
        results = [run_fidelity(plan, say)]
    for i, result in enumerate(results):
        print(markdown_row(result, header=i == 0))
    for result in results:
        show(result)
    if args.curve:
        print(curve_table(results))
    if args.json:
        rows = [r.to_dict() for r in results]
        args.json.write_text(json.dumps(rows if args.curve else rows[0], indent=2, default=float))


def distil(plan: FidelityPlan, args: argparse.Namespace, say: Callable[[str], None]) -> None:
    """Train the teacher unless --out holds it, distil it, and print the teacher-and-student table."""
    if not (plan.out_dir / "checkpoints" / plan.named("fidelity") / FINAL).exists():
        print(markdown_row(run_fidelity(plan, say), header=True))
    steps = tuple(int(s) for s in args.distill.split(","))
    rows = run_distilled(DistillPlan(replace(plan, reuse=args.reuse), args.distill_budget, args.guidance_scale, steps),
                         say)
    print(distilled_table(rows))


def show(result: FidelityResult) -> None:
    print(f"[{result.budget}] physics shifts: " + "; ".join(f"{name} {text}" for name, text in result.shifts.items()))
    print(f"[{result.budget}] copies: " + "; ".join(f"{name} {text}" for name, text in result.copies.items()))
    if result.spread:
        print(f"[{result.budget}] spread at fixed labels (variance gen/sim): "
              + "; ".join(f"{name} {text}" for name, text in result.spread.items()))
    print(f"[{result.budget}] {result.verdict_line}")


if __name__ == "__main__":
    main()
