"""Running the GPU check: each stage in its own process under its own cap, then one Markdown table.

A stage that outlives its cap (plus GRACE_SECONDS) is killed with its process group; one that
fails leaves a row saying so and the run goes on. Rows are appended by the stages to a JSON-lines
file as they are measured, so whatever a killed stage measured is kept. The event files are
simulated by a background process while the GPU stages run. Outputs (few and small, as the device
tool brings back at most 8 files): gpu_check.md, gpu_check.json, gpu_check.log and
gpu_check_prepare.log in the output folder; event files and runs go to the plan's work folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from genesis_cli.engine.atomic_files import write_text_atomic
from genesis_cli.engine.bench.check.plan import BACKGROUND_STAGE, STAGES, CheckPlan, CheckRow
from genesis_cli.engine.bench.check.stages import describe_device
from genesis_cli.engine.bench.check.summary import markdown_table, summary_rows
from genesis_cli.errors import UsageError

#: Seconds a stage may run past its cap (it stops itself before) before it is killed.
GRACE_SECONDS = 15
#: Stages that read the simulated event files.
NEEDS_FILES = ("data", "loop", "fidelity")  # the cli stage simulates its own small files
WORKER = "genesis_cli.engine.bench.check.worker"


@dataclass(frozen=True)
class CheckOutcome:
    rows: list[CheckRow]
    markdown: str
    seconds: float


@dataclass
class _Stage:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    started: float


def run_check(plan: CheckPlan, out_dir: Path, *, commit: str, mode: str,
              say: Callable[[str], None] = print) -> CheckOutcome:
    """Run every stage of ``plan`` with a cap above 0 and write the outputs to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plan.work_dir.mkdir(parents=True, exist_ok=True)
    plan_path, rows_path = plan.work_dir / "plan.json", out_dir / "gpu_check_rows.jsonl"
    plan.save(plan_path)
    rows_path.write_text("", encoding="utf-8")
    started = time.monotonic()
    wanted = [stage for stage in STAGES if plan.cap(stage) > 0]
    background = (_start(BACKGROUND_STAGE, plan_path, rows_path, out_dir / "gpu_check_prepare.log")
                  if any(stage in NEEDS_FILES for stage in wanted) else None)
    files_ready: bool | None = None
    with (out_dir / "gpu_check.log").open("w", encoding="utf-8") as log:
        for stage in wanted:
            if stage in NEEDS_FILES and background is not None and files_ready is None:
                say(f"waiting for the event files ({BACKGROUND_STAGE})")
                files_ready = _finish(background, plan.cap(BACKGROUND_STAGE), rows_path)
            if stage in NEEDS_FILES and files_ready is False:
                _append(rows_path, CheckRow(stage, "skipped", None, "", "the event files were not simulated "
                                            "(see gpu_check_prepare.log)", what="failure"))
                continue
            say(f"{stage}: up to {plan.cap(stage):.0f} s")
            running = _start(stage, plan_path, rows_path, plan.work_dir / f"{stage}.log")
            _finish(running, plan.cap(stage), rows_path)
            log.write(f"===== {stage} ({time.monotonic() - running.started:.0f} s)\n")
            log.write(running.log.read_text(encoding="utf-8", errors="replace"))
            log.flush()
    if background is not None and files_ready is None:
        _finish(background, plan.cap(BACKGROUND_STAGE), rows_path)
    rows = read_rows(rows_path)
    rows += summary_rows(rows)
    seconds = time.monotonic() - started
    markdown = markdown_table(rows, date=datetime.now(timezone.utc).date().isoformat(), commit=commit, mode=mode,
                              seconds=seconds, device=describe_device(plan.device))
    write_text_atomic(out_dir / "gpu_check.md", markdown)
    write_text_atomic(out_dir / "gpu_check.json", json.dumps(
        {"commit": commit, "mode": mode, "seconds": seconds, "plan": asdict(plan),
         "rows": [asdict(row) for row in rows]}, indent=2, default=str))
    rows_path.unlink()
    return CheckOutcome(rows, markdown, seconds)


def read_rows(path: Path) -> list[CheckRow]:
    return [CheckRow.from_json(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _start(stage: str, plan_path: Path, rows_path: Path, log: Path) -> _Stage:
    """The stage's worker process in a session of its own (so a kill takes its children too)."""
    with log.open("w", encoding="utf-8") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", WORKER, "--stage", stage, "--plan", str(plan_path), "--rows", str(rows_path)],
            stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return _Stage(stage, process, log, time.monotonic())


def _finish(stage: _Stage, cap: float, rows_path: Path) -> bool:
    """Wait for ``stage`` until its cap (counted from its start) plus grace; a row says if it failed."""
    timeout = max(0.0, stage.started + cap + GRACE_SECONDS - time.monotonic())
    try:
        code = stage.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(stage.process.pid, signal.SIGKILL)
        stage.process.wait()
        _append(rows_path, CheckRow(stage.name, "stopped", None, "", f"killed at its {cap:.0f} s cap "
                                    f"(+{GRACE_SECONDS} s); rows before this are kept", what="failure"))
        return False
    if code != 0:
        _append(rows_path, CheckRow(stage.name, "failed", None, "", f"exit {code}: {_last_line(stage.log)}",
                                    what="failure"))
    return code == 0


def _append(path: Path, row: CheckRow) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(row.to_json() + "\n")


def _last_line(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def genesis_commit(repository: Path, environ: Mapping[str, str]) -> str:
    """GENESIS's commit for the table's header: ``GENESIS_COMMIT`` when set (a device copy has no .git of
    its own), else the commit of ``repository`` when it is a git work tree's top (never that of a
    repository that merely encloses it: the first GPU run printed the device's), with "+changes" for
    uncommitted edits; else "unknown"."""
    if environ.get("GENESIS_COMMIT"):
        return environ["GENESIS_COMMIT"]

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(repository), *args], capture_output=True, text=True,
                                  check=False, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    if not top or Path(top).resolve() != repository.resolve():
        return "unknown"
    head = git("rev-parse", "--short", "HEAD")
    if not head:
        return "unknown"
    return head + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


#: docs/performance.md's "GPU figures" section: each check's table goes right below this line.
DOCS_MARKER = "<!-- gpu-check tables, newest first: python benchmarks/gpu_check.py --record OUT/gpu_check.md -->"


def record_in_docs(markdown: str, docs: Path) -> None:
    """Insert a check's table into ``docs`` below DOCS_MARKER (older tables stay below it)."""
    text = docs.read_text(encoding="utf-8")
    if DOCS_MARKER not in text:
        raise UsageError(f"{docs}: the GPU figures marker line is missing", hint=f"add the line {DOCS_MARKER}")
    write_text_atomic(docs, text.replace(DOCS_MARKER, f"{DOCS_MARKER}\n\n{markdown.strip()}\n", 1))
