"""The GPU check (benchmarks/gpu_check.sh): its CPU dry run end to end, and the parts a lent GPU
relies on: stage caps, failure rows, the summary's ratios, the table and its place in the docs."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genesis_cli.engine.bench.check import DOCS_MARKER, STAGES, CheckPlan, CheckRow, record_in_docs
from genesis_cli.engine.bench.check import runner
from genesis_cli.engine.bench.check.summary import markdown_table, summary_rows
from genesis_cli.errors import UsageError

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_cpu_dry_run_runs_every_stage_and_writes_one_table(tmp_path: Path) -> None:
    out, work = tmp_path / "out", tmp_path / "work"
    done = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_check.sh"), "--tiny", "--work", str(work)],
                          capture_output=True, text=True, env={**_env(), "OUT": str(out)},
                          timeout=sum(CheckPlan.tiny(work).caps.values()) + 300)  # a hang guard: stages stop at their caps
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = (out / "gpu_check.md").read_text()
    assert table.startswith("#### ") and "tiny (CPU dry run)" in table
    report = json.loads((out / "gpu_check.json").read_text())
    rows = [CheckRow(**row) for row in report["rows"]]
    assert {row.stage for row in rows} >= {*STAGES, "prepare", "summary"}
    assert not [row for row in rows if row.what == "failure"]
    assert {row.variant for row in rows if row.stage == "train"} >= {"eager", "compiled"}
    commands = [row.item.split()[1] for row in rows if row.stage == "cli"]  # the user's path, each command run
    assert commands == ["simulate", "simulate", "train", "resume", "sample", "evaluate", "demo"]
    assert all(row.what == "command" and row.numbers["exit"] == 0 for row in rows if row.stage == "cli")
    assert [row.variant for row in rows if row.stage == "data"] == ["memory", "stream"]
    loop = [row for row in rows if row.stage == "loop"]  # the training loop beside the benchmark's step
    assert [row.variant for row in loop] == ["genesis train loop", "genesis bench step", ""]
    assert loop[2].unit == "%" and loop[2].value and "forward" in loop[2].detail
    assert {row.variant for row in rows if row.what == "speedup"} == {"train", "sample", "student"}
    verdicts = [row for row in rows if row.stage == "fidelity" and row.what == "verdict"]
    assert [row.variant for row in verdicts] == ["10", "20"]  # one run per budget: AUC against training time
    assert all("training_minutes" in row.numbers for row in verdicts)
    assert [row.what for row in rows if row.stage == "fidelity"].count("curve") == 1
    assert [row.what for row in rows if row.stage == "fidelity"].count("spread") == 2
    for row in rows:
        assert f"| {row.stage} | {row.item} |" in table
    # what comes back from a device: few, small files, none in subfolders
    assert sorted(p.name for p in out.iterdir()) == ["gpu_check.json", "gpu_check.log", "gpu_check.md",
                                                     "gpu_check_prepare.log"]
    assert (work / "fidelity" / "train.h5").exists()


def test_a_stage_past_its_cap_is_killed_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "GRACE_SECONDS", 0.2)
    rows = tmp_path / "rows.jsonl"
    rows.write_text("")
    log = tmp_path / "slow.log"
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    started = time.monotonic()
    ok = runner._finish(runner._Stage("train", process, log, time.monotonic()), 0.3, rows)
    assert not ok and time.monotonic() - started < 10 and process.poll() is not None
    (row,) = runner.read_rows(rows)
    assert (row.stage, row.item, row.what) == ("train", "stopped", "failure") and "0 s cap" in row.detail


def test_a_failing_stage_leaves_a_row_with_its_last_line(tmp_path: Path) -> None:
    rows, log = tmp_path / "rows.jsonl", tmp_path / "stage.log"
    rows.write_text("")
    with log.open("w") as handle:
        process = subprocess.Popen([sys.executable, "-c", "print('loading'); raise SystemExit('CUDA went away')"],
                                   stdout=handle, stderr=subprocess.STDOUT)
    assert not runner._finish(runner._Stage("sampling", process, log, time.monotonic()), 30, rows)
    (row,) = runner.read_rows(rows)
    assert row.item == "failed" and row.detail == "exit 1: CUDA went away"


def _bench(stage: str, item: str, rate: float, *, what: str, preset: str = "default", variant: str = "eager",
           mfu: float | None = None, batch: int = 64) -> CheckRow:
    numbers = {"batch": batch, "events_per_second": rate}
    if mfu is not None:
        numbers |= {"mfu": mfu, "tflops": mfu * 989}
    return CheckRow(stage, item, rate, "events/s", "", what=what, preset=preset, variant=variant, numbers=numbers)


def test_the_summary_sets_best_against_best_and_guided_against_the_original() -> None:
    rows = [
        CheckRow("environment", "bf16 matmul", 790.0, "TFLOP/s", what="ceiling", numbers={"tflops": 790.0}),
        _bench("train", "default, eager, batch 64", 5_000, what="train", mfu=0.10),
        _bench("train", "default, eager, batch 128", 9_000, what="train", mfu=0.20, batch=128),
        CheckRow("train", "default, eager, batch 256", None, "", "out of GPU memory", what="train", preset="default",
                 variant="eager", numbers={"batch": 256}),
        _bench("train", "default, compiled, batch 128", 12_000, what="train", variant="compiled", mfu=0.27, batch=128),
        _bench("baseline", "original train, default, batch 8", 50, what="train", variant="original"),
        _bench("baseline", "original train, default, batch 32", 75, what="train", variant="original"),
        _bench("baseline", "original sample, default, batch 8", 0.5, what="sample", variant="original"),
        _bench("sampling", "default, guidance 1, batch 256", 6_000, what="sample", variant="guidance 1"),
        _bench("sampling", "default, guidance 2, batch 256", 3_000, what="sample", variant="guidance 2", mfu=0.3),
        _bench("sampling", "default, student 4 steps (guidance 2 folded in), batch 256", 30_000, what="sample",
               variant="student 4"),
    ]
    summary = {row.item: row for row in summary_rows(rows)}
    # a distilled student is set against the guided sampler it replaces, and never counts as "our sampling"
    assert summary["student speed-up over guided sampling, 4 steps, batch 64"].value == pytest.approx(10.0)
    assert summary["training speed-up over the original (default)"].value == pytest.approx(12_000 / 75)
    # the original sampled with two guidance passes: it is set against our guided sampling, not the faster unguided
    assert summary["sampling speed-up over the original (default)"].value == pytest.approx(3_000 / 0.5)
    mfu = summary["best train MFU, default"]
    assert mfu.value == pytest.approx(27.0) and "compiled, batch 128" in mfu.detail
    assert f"{100 * 0.27 * 989 / 790:.0f}% of the measured ceiling" in mfu.detail
    limit = summary["largest training batch that fit, default"]
    assert limit.value == 128 and limit.detail == "out of GPU memory at batch 256"
    table = markdown_table(rows + list(summary.values()), date="2026-12-02", commit="abc1234", mode="full",
                           seconds=540)
    assert table.splitlines()[0] == "#### 2026-12-02 · unknown device · commit abc1234 · full · 9.0 min"
    assert "| summary | training speed-up over the original (default) | 160.0x |" in table


def test_a_plan_travels_to_its_stage_processes_and_a_rerun_keeps_only_the_chosen_stages(tmp_path: Path) -> None:
    plan = CheckPlan.tiny(tmp_path)
    plan.save(tmp_path / "plan.json")
    assert CheckPlan.load(tmp_path / "plan.json") == plan
    rerun = CheckPlan.full(tmp_path).only(("sampling",))
    assert [stage for stage in STAGES if rerun.cap(stage) > 0] == ["sampling"]
    assert sum(CheckPlan.full(tmp_path).cap(stage) for stage in STAGES) <= 9.5 * 60  # fits one device call


def test_the_table_goes_into_the_docs_below_the_marker(tmp_path: Path) -> None:
    assert DOCS_MARKER in (REPO / "docs" / "performance.md").read_text()
    docs = tmp_path / "performance.md"
    docs.write_text(f"# Performance\n\n## GPU figures\n\n{DOCS_MARKER}\n\n#### older table\n")
    record_in_docs("#### 2026-12-02 · NVIDIA H200 · commit abc\n\n| a |\n", docs)
    text = docs.read_text()
    assert text.index("NVIDIA H200") < text.index("older table") and text.count(DOCS_MARKER) == 1
    docs.write_text("# Performance\n")
    with pytest.raises(UsageError, match="marker line is missing"):
        record_in_docs("| a |\n", docs)


@pytest.mark.parametrize("args, message", [(["--stages", "train,warp"], "--stages warp"),
                                           (["--work", "{full}"], "not empty")])
def test_the_script_refuses_bad_arguments_before_running(tmp_path: Path, args: list[str], message: str) -> None:
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("a user's file")
    args = [a.replace("{full}", str(full)) for a in args]
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--tiny", *args],
                          capture_output=True, text=True, env={**_env(), "OUT": str(tmp_path / "out")}, timeout=60)
    assert done.returncode == 2 and message in done.stderr
    assert (full / "keep.txt").read_text() == "a user's file" and not (tmp_path / "out").exists()


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": str(REPO), "PYTHON": sys.executable}  # the script runs the tests' Python


def test_the_header_names_genesis_commit_never_an_enclosing_repository(tmp_path: Path) -> None:
    from genesis_cli.engine.bench.check import genesis_commit

    outer = tmp_path / "outer"
    copy = outer / "genesis"  # a device copy of the working tree: no .git of its own, inside another repository
    copy.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(outer)], check=True)
    assert genesis_commit(copy, {}) == "unknown"
    assert genesis_commit(copy, {"GENESIS_COMMIT": "8ba4e3d"}) == "8ba4e3d"
    assert genesis_commit(REPO, {"GENESIS_COMMIT": "abc1234"}) == "abc1234"  # the variable wins everywhere
    own = genesis_commit(REPO, {})
    assert own.split("+")[0] == subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                                               capture_output=True, text=True).stdout.strip() or own == "unknown"


def test_a_rerun_without_the_environment_stage_still_names_the_device() -> None:
    rows = [CheckRow("sampling", "default, guidance 2, batch 256", 3000.0, "events/s", what="sample")]
    table = markdown_table(rows, date="2026-12-04", commit="abc", mode="full", seconds=60, device="NVIDIA H200")
    assert table.splitlines()[0].startswith("#### 2026-12-04 · NVIDIA H200 · commit abc")


def test_the_loader_benchmark_stops_at_its_deadline(toy_file: Path) -> None:
    from genesis_cli.engine.data.benchmark import benchmark_loader

    started = time.monotonic()
    result = benchmark_loader(toy_file, batch_size=8, epochs=1000, max_seconds=2.0)
    assert time.monotonic() - started < 6 and result.events_per_second > 0
