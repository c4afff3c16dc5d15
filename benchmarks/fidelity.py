"""The fidelity benchmark: train a preset for a fixed budget and judge its events against simulation.

    python benchmarks/fidelity.py --preset cpu --budget 30m [--train-events 20000] [--heldout-events 2000]
        [--data-style toy|original] [--geometry FILE.csv] [--out DIR] [--set KEY=VALUE ...]
        [--device cpu] [--threads 2] [--reuse] [--json FILE]

Simulates a training file and a held-out file (different seeds), trains the preset for the budget
(steps such as 3000, or time such as 30m), generates events for the held-out labels with the
default sampler, runs `genesis evaluate` and prints one Markdown row: the label-aware judge's AUCs,
each physics quantity as "generated (simulation)", and the overall verdict. `--data-style
original` shuffles the detector's DOM order and simulates PeV energies, as the original GENESIS
files had. `--reuse` keeps the files already in --out (re-judging a run without training again).
The table in docs/performance.md was made with this script.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from genesis_cli.engine.bench.fidelity import DATA_STYLES, FidelityPlan, markdown_row, run_fidelity


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
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    plan = FidelityPlan(args.preset, args.budget, args.train_events, args.heldout_events, args.out, args.data_style,
                        args.geometry, args.seed, args.device, tuple(args.overrides), args.reuse)
    result = run_fidelity(plan, say=lambda text: print(text, flush=True))
    print(markdown_row(result, header=True))
    print("physics shifts: " + "; ".join(f"{name} {text}" for name, text in result.shifts.items()))
    print("copies: " + "; ".join(f"{name} {text}" for name, text in result.copies.items()))
    print(result.verdict_line)
    if args.json:
        args.json.write_text(json.dumps(result.to_dict(), indent=2, default=float))


if __name__ == "__main__":
    main()
