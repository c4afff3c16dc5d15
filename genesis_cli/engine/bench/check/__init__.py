"""The GPU check (`benchmarks/gpu_check.sh`): one prepared run that measures everything a lent GPU
can tell us in about nine minutes. plan.py says what is measured and for how long, stages.py
measures, runner.py runs each stage in its own capped process, summary.py draws the conclusions
and the Markdown table, worker.py is a stage's process."""

from genesis_cli.engine.bench.check.plan import STAGES, CheckPlan, CheckRow
from genesis_cli.engine.bench.check.runner import DOCS_MARKER, CheckOutcome, genesis_commit, record_in_docs, run_check

__all__ = ["DOCS_MARKER", "STAGES", "CheckOutcome", "CheckPlan", "CheckRow", "genesis_commit", "record_in_docs",
           "run_check"]
