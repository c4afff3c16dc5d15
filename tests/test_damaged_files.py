"""Every reader refuses a truncated file within seconds, naming it (issue 26, item 1).

A truncated event file once hung `genesis inspect-data` for over 20 minutes (HDF5's SWMR metadata
retries), and a SQLite database missing its last pages converted without a word. The readers run in a
child process, so a hang fails the test at its timeout instead of stalling the suite; the child times
each command and the test asserts each refusal took under 10 s.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_real_files import GRAPHNET

#: Where each file is cut: fractions of its length (the header, the middle, the last bytes).
CUTS = (0.02, 0.3, 0.6, 0.9, 0.995)
REFUSAL_SECONDS = 10.0

CHILD = r"""
import json, sys, time
from typer.testing import CliRunner
from genesis_cli.cli.app import app

runner = CliRunner()
for args in json.loads(sys.argv[1]):
    start = time.monotonic()
    result = runner.invoke(app, args, env={"COLUMNS": "200", "TERM": "dumb"})
    print(json.dumps({"args": args, "code": result.exit_code, "seconds": time.monotonic() - start,
                      "stderr": result.stderr}), flush=True)
"""


def _cut(source: Path, fraction: float, target: Path) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * fraction)])
    return target


def _commands(toy_file: Path, run: Path, tmp_path: Path) -> list[tuple[Path, list[str]]]:
    """(the damaged file, the command that reads it) for every reader and cut."""
    commands: list[tuple[Path, list[str]]] = []
    out = tmp_path / "out"
    for i, fraction in enumerate(CUTS):
        h5 = _cut(toy_file, fraction, tmp_path / f"cut{i}.h5")
        commands += [
            (h5, ["inspect-data", str(h5)]),
            (h5, ["train", "--config", "debug", "--data-path", str(h5), "--max-steps", "1",
                  "--set", f"checkpoint_dir={tmp_path / 'ckpt'}", "--set", f"log_dir={tmp_path / 'logs'}"]),
            (h5, ["sample", "--checkpoint", str(run), "--labels-from", str(h5), "--output", str(out / f"s{i}.h5")]),
            (h5, ["evaluate", "--real-data", str(h5), "--generated-data", str(toy_file)]),
            (h5, ["evaluate", "--real-data", str(toy_file), "--generated-data", str(h5)]),
            (h5, ["convert", str(h5), str(out / f"export{i}")]),
        ]
        db = _cut(GRAPHNET / "oscNext_genie_level7_v02_first_5_frames.db", fraction, tmp_path / f"cut{i}.db")
        commands.append((db, ["convert", str(db), str(out / f"db{i}.h5")]))
        folder = tmp_path / f"parquet{i}"
        shutil.copytree(GRAPHNET / "oscNext_genie_level7_v02_merged", folder)
        pulses = folder / "SRTInIcePulses" / "SRTInIcePulses_2.parquet"
        _cut(pulses, fraction, pulses)
        commands.append((pulses, ["convert", str(folder), str(out / f"pq{i}.h5")]))
    return commands


@pytest.mark.slow
def test_every_reader_refuses_a_truncated_file_within_seconds(toy_file: Path, trained_run: Path,
                                                              tmp_path: Path) -> None:
    commands = _commands(toy_file, trained_run, tmp_path)
    (tmp_path / "out").mkdir()
    child = subprocess.run([sys.executable, "-c", CHILD, json.dumps([args for _, args in commands])],
                           capture_output=True, text=True, timeout=600, cwd=tmp_path)
    results = [json.loads(line) for line in child.stdout.splitlines() if line.startswith("{")]
    assert len(results) == len(commands), child.stderr[-2000:]
    for (damaged, args), result in zip(commands, results):
        errors = [line for line in result["stderr"].splitlines() if line.startswith("Error:")]
        command = " ".join(args[:1])
        assert result["code"] == 2, (args, result["stderr"])
        assert len(errors) == 1 and str(damaged) in errors[0], (args, result["stderr"])
        assert "truncated" in errors[0], (args, errors)
        assert "Traceback" not in result["stderr"]
        assert result["seconds"] < REFUSAL_SECONDS, f"{command} took {result['seconds']:.1f} s on {damaged.name}"
    assert not any((tmp_path / "out").iterdir()), "a refused command left an output behind"
