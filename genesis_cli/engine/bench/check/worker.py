"""One stage of the GPU check in its own process: ``python -m genesis_cli.engine.bench.check.worker
--stage NAME --plan plan.json --rows rows.jsonl``. Started by runner.py, never by hand.

Each row is appended to the rows file and flushed as soon as it is measured (one short line per
write, so the background stage's rows and a stage's rows never tear each other).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from genesis_cli.engine.bench.check.plan import CheckPlan, CheckRow
from genesis_cli.engine.bench.check.stages import STAGE_FUNCTIONS, Clock


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True, choices=sorted(STAGE_FUNCTIONS))
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--rows", type=Path, required=True)
    args = parser.parse_args(argv)
    plan = CheckPlan.load(args.plan)
    if plan.cpu_threads is not None:
        import torch

        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(plan.cpu_threads)  # the commands it runs
        torch.set_num_threads(plan.cpu_threads)

    def record(row: CheckRow) -> None:
        with args.rows.open("a", encoding="utf-8") as handle:
            handle.write(row.to_json() + "\n")
        print(f"[{row.stage}] {row.item}: {row.result()} {row.detail}", flush=True)

    STAGE_FUNCTIONS[args.stage](plan, record, Clock(plan.cap(args.stage)))


if __name__ == "__main__":
    main()
