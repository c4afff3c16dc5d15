"""The benchmark scripts run (their figures are for docs/performance.md, never asserted here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


def test_presets_script_prints_a_row_per_preset(tmp_path: Path) -> None:
    out = tmp_path / "presets.json"
    done = subprocess.run([sys.executable, str(BENCHMARKS / "presets.py"), "--presets", "debug", "--steps", "1",
                           "--sampling-steps", "2", "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| debug |")]
    assert len(rows) == 1 and "0.97 M" in rows[0]
    assert out.exists()
