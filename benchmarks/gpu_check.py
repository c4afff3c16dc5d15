"""The GPU check: every speed and fidelity figure a lent GPU can give, in one run of about nine minutes.

    bash benchmarks/gpu_check.sh                     # on the GPU machine (sets up, then runs this)
    python benchmarks/gpu_check.py [--out DIR] [--work DIR] [--stages train,sampling] [--device cuda]
    python benchmarks/gpu_check.py --tiny            # every stage on the CPU, debug preset, < 2 minutes
    python benchmarks/gpu_check.py --record OUT/gpu_check.md [--docs docs/performance.md]

Stages (each capped, in this order): environment (device, driver, versions, the measured bf16
matmul ceiling), train (default and cnn presets: eager batch sweep up to the first OOM, then
compiled at the best batches; events/s, MFU, peak memory), baseline (the original configuration at
batch 8 and 32, training and sampling), sampling (the default sampler at batch 256 and 2048, bf16,
guidance off and on; a distilled student at 1, 2 and 4 steps, guidance folded in, batch 2048), data (the loader in memory and stream mode), cli (the commands users run,
each with its exit code and time: simulate, train, resume, sample, evaluate, demo), fidelity (the
fidelity benchmark against training minutes: the `gpu` preset trained for 2, 4 and 8 minutes, one
run each while the stage's cap allows, 2,000 held-out events sampled and judged, and the spread at
fixed labels; `--stages fidelity --cap fidelity=540` gives it a command of its own).
The event files are simulated on the CPU while the GPU stages run.

Writes gpu_check.md (one Markdown table), gpu_check.json and logs to --out ($OUT, else
./gpu_check_out); large files go to --work (a fresh temporary folder unless given). --record
puts a check's table into docs/performance.md's "GPU figures" section.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from genesis_cli.engine.bench.check import STAGES, CheckPlan, genesis_commit, record_in_docs, run_check

REPOSITORY = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", "--dry-run", dest="tiny", action="store_true",
                        help="every stage on the CPU with the debug preset and tiny batches (< 2 minutes)")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or "gpu_check_out"))
    parser.add_argument("--work", type=Path, help="folder for event files and runs (must be new or empty)")
    parser.add_argument("--stages", help=f"comma-separated subset of {','.join(STAGES)} (a rerun of a few)")
    parser.add_argument("--device", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--cap", action="append", default=[], metavar="STAGE=SECONDS",
                        help="another time cap for a stage (e.g. fidelity=540 runs the 2 and 4 minute budgets)")
    parser.add_argument("--record", type=Path, metavar="GPU_CHECK_MD", help="put this table into --docs and stop")
    parser.add_argument("--docs", type=Path, default=REPOSITORY / "docs" / "performance.md")
    args = parser.parse_args()
    if args.record is not None:
        record_in_docs(args.record.read_text(encoding="utf-8"), args.docs)
        print(f"recorded {args.record} in {args.docs}")
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="genesis_gpu_check_"))
    if work.exists() and any(work.iterdir()):
        parser.error(f"--work {work}: not empty; give a new or empty folder")
    plan = CheckPlan.tiny(work) if args.tiny else CheckPlan.full(work)
    if args.device:
        plan = replace(plan, device=args.device)
    if args.stages:
        chosen = tuple(s.strip() for s in args.stages.split(","))
        unknown = [s for s in chosen if s not in STAGES]
        if unknown:
            parser.error(f"--stages {','.join(unknown)}: choose from {','.join(STAGES)}")
        plan = plan.only(chosen)
    for item in args.cap:
        stage, _, seconds = item.partition("=")
        if stage not in STAGES or not seconds.replace(".", "", 1).isdigit():
            parser.error(f"--cap {item}: expected STAGE=SECONDS with STAGE one of {','.join(STAGES)}")
        plan = replace(plan, caps={**plan.caps, stage: float(seconds)})
    outcome = run_check(plan, args.out, commit=genesis_commit(REPOSITORY, os.environ), mode="tiny (CPU dry run)" if args.tiny else "full",
                        say=lambda text: print(f"gpu_check: {text}", flush=True))
    print(outcome.markdown)
    print(f"gpu_check: wrote {args.out / 'gpu_check.md'} and gpu_check.json; event files and runs in {work}")
    failures = [row for row in outcome.rows if row.what == "failure"]
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
