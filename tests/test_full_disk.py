"""A full disk (issue 12, item 13): one line naming the path, exit 1, no partial file, no crash.

HDF5 does not recover from a failed write (it crashes the process in the next flush), so the event
writer stops before a batch could fill the disk; these tests fill a real filesystem.

Uses a small tmpfs; skipped where the machine does not allow mounting one (not root, no tmpfs)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="tmpfs mounts are a Linux feature")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB filesystem at tmp_path/disk."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def _genesis(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "genesis_cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def _one_error_line(result: subprocess.CompletedProcess[str], path: Path) -> None:
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and str(path) in errors[0] and "no space left on the device" in errors[0], result.stderr


def test_simulate_onto_a_full_disk(small_disk: Path, tmp_path: Path) -> None:
    out = small_disk / "sim.h5"
    _one_error_line(_genesis("simulate", str(out), "--events", "3000", cwd=tmp_path), out)
    assert not list(small_disk.iterdir())


def test_train_onto_a_full_disk(small_disk: Path, tmp_path: Path, toy_file: Path) -> None:
    result = _genesis("train", "--config", "debug", "--data-path", str(toy_file), "--max-steps", "3",
                      "--batch-size", "8", "--set", f"checkpoint_dir={small_disk}", "--experiment-name", "x", cwd=tmp_path)
    _one_error_line(result, small_disk / "x")
    assert not list(small_disk.rglob("*.pt")) and not list(small_disk.rglob("*.tmp"))
