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
def test_judge_script_prints_a_verdict_per_distortion(tmp_path: Path) -> None:
    from genesis_cli.engine.evaluation.distortions import DISTORTIONS

    out = tmp_path / "judge.json"
    done = subprocess.run([sys.executable, str(BENCHMARKS / "judge.py"), "--events", "300", "--out",
                           str(tmp_path / "judge"), "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    verdicts = {row["case"]: row["verdict"] for row in json.loads(out.read_text())}
    assert set(verdicts) == {"independent simulation (no distortion)", *DISTORTIONS}
    assert all(v in ("PASS", "MARGINAL", "FAIL") for v in verdicts.values())


@pytest.mark.slow
def test_fidelity_benchmark_trains_samples_judges_and_reuses(tmp_path: Path) -> None:
    from genesis_cli.engine.bench.fidelity import FidelityPlan, markdown_row, run_fidelity

    tiny = ("model.hidden=32", "model.heads=2", "model.depth=1", "training.batch_size=8", "diffusion.sampling_steps=2")
    plan = FidelityPlan("cpu", "4", train_events=300, heldout_events=60, out_dir=tmp_path / "fid", overrides=tiny)
    result = run_fidelity(plan, say=lambda _: None)
    assert result.steps == 4 and len(result.aucs) == 2 and result.verdict in ("PASS", "MARGINAL", "FAIL")
    assert result.simulation.hits_per_event > 0 and (tmp_path / "fid" / "fidelity.json").exists()
    row = markdown_row(result, header=True).splitlines()
    assert len(row) == 3 and row[2].startswith("| cpu | toy | 4 | 4 |")
    again = run_fidelity(FidelityPlan(**{**plan.__dict__, "reuse": True}), say=lambda _: None)
    assert again.steps == 4  # the run is reused, not retrained
    assert again.generated.hits_per_event == result.generated.hits_per_event  # the same samples judged again
