"""The spread benchmark: event-to-event spread at fixed labels, generated against simulated.

    python benchmarks/spread.py RUN LABELS.h5 [--labels 20] [--draws 100] [--sampler S] [--steps N]
        [--guidance G] [--raw-weights] [--seed 1] [--device cpu] [--threads 1] [--json FILE]

RUN is a run directory (its best checkpoint, else its newest) or a checkpoint; LABELS.h5 a file
written by `genesis simulate` (the fidelity benchmark's heldout.h5), whose first --labels labels
are simulated and generated --draws times each. Prints each observable's variance ratio
(generated / simulated, geometric mean over labels, bootstrap error): 1 is right, below 1 a
generator more regular than the detector. --sampler/--steps/--guidance/--raw-weights measure
what changes the spread without training again. The table in docs/performance.md was made with it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from genesis_cli.engine.bench.spread import SpreadPlan, measure_spread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("labels_file", type=Path)
    parser.add_argument("--labels", type=int, default=20)
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--sampler")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--guidance", type=float)
    parser.add_argument("--raw-weights", action="store_true", help="the training weights, not their EMA")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    plan = SpreadPlan(args.run, args.labels_file, args.labels, args.draws, args.seed, args.device, args.sampler,
                      args.steps, args.guidance, args.raw_weights)
    result = measure_spread(plan, say=lambda text: print(text, flush=True))
    print("| observable | variance ratio (gen/sim) | sd generated | sd simulated | labels |\n|---|---|---|---|---|")
    for r in result.report.ratios:
        print(f"| {r.name} | {r.text()} | {r.generated_sd:.3g} | {r.simulated_sd:.3g} | {r.labels} |")
    print(f"{result.seconds:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({**result.report.to_dict(), "sampling": vars(result.sampling)}, indent=2))


if __name__ == "__main__":
    main()
