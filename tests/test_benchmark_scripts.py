"""The benchmark scripts run (their figures are for docs/performance.md, never asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


def test_presets_script_prints_a_row_per_preset(tmp_path: Path) -> None:
    out = tmp_path / "presets.json"
    done = subprocess.run([sys.executable, str(BENCHMARKS / "presets.py"), "--presets", "debug", "--steps", "1",
                           "--sampling-steps", "2", "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| debug |")]
    assert len(rows) == 1 and "1.14 M" in rows[0]  # the debug DiT with the hit channel and per-DOM conditioning
    assert out.exists()


@pytest.mark.slow
def test_judge_script_prints_a_row_per_case(tmp_path: Path) -> None:
    out = tmp_path / "judge.json"
    cases = ["perfect generator (same labels)", "half of the events duplicated"]
    done = subprocess.run([sys.executable, str(BENCHMARKS / "judge.py"), "--events", "300", "--out", str(tmp_path / "judge"),
                           "--json", str(out), *(arg for case in cases for arg in ("--case", case))],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = {row["case"]: row for row in json.loads(out.read_text())}
    assert list(rows) == cases and all(f"| {case} | 300 |" in done.stdout for case in cases)
    assert rows["half of the events duplicated"]["verdict"] == "FAIL"  # exact repeats: no statistics needed
    assert all(row["verdict"] in ("PASS", "MARGINAL", "FAIL") for row in rows.values())


@pytest.mark.slow
def test_fidelity_benchmark_trains_samples_judges_and_reuses(tmp_path: Path) -> None:
    from genesis_cli.engine.bench.fidelity import FidelityPlan, curve_table, markdown_row, run_curve, run_fidelity
    from genesis_cli.engine.evaluation.spread import SPREAD_OBSERVABLES

    tiny = ("model.hidden=32", "model.heads=2", "model.depth=1", "training.batch_size=8", "diffusion.sampling_steps=2")
    plan = FidelityPlan("cpu", "4", train_events=300, heldout_events=100, out_dir=tmp_path / "fid", overrides=tiny,
                        spread_labels=3, spread_draws=6)
    result = run_fidelity(plan, say=lambda _: None)
    assert list(result.spread) == list(SPREAD_OBSERVABLES)  # variance ratios at fixed labels
    assert result.steps == 4 and len(result.aucs) == 2 and result.verdict in ("PASS", "MARGINAL", "FAIL", "TOO FEW EVENTS")
    assert "energy scale" in result.shifts and "copies of training events" in result.copies  # judged with the training file
    assert result.simulation.hits_per_event > 0 and (tmp_path / "fid" / "fidelity.json").exists()
    row = markdown_row(result, header=True).splitlines()
    assert len(row) == 3 and row[2].startswith("| cpu | toy | 4 | 4 |")
    again = run_fidelity(FidelityPlan(**{**plan.__dict__, "reuse": True}), say=lambda _: None)
    assert again.steps == 4  # the run is reused, not retrained
    assert again.generated.hits_per_event == result.generated.hits_per_event  # the same samples judged again
    curve = run_curve(FidelityPlan(**{**plan.__dict__, "spread_labels": 0}), ("2", "3"), say=lambda _: None)
    assert [(r.budget, r.steps) for r in curve] == [("2", 2), ("3", 3)]  # one run per budget, each its own
    assert (tmp_path / "fid" / "checkpoints" / "fidelity-2").is_dir() and (tmp_path / "fid" / "generated-3.h5").exists()
    assert (tmp_path / "fid" / "fidelity.json").exists() and (tmp_path / "fid" / "fidelity-3.json").exists()
    table = curve_table(curve).splitlines()
    assert len(table) == 4 and table[2].startswith("| 2 | 2 |") and table[0].startswith("| budget | steps | training min")
