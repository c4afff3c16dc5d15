"""Packaging: every subpackage ships, presets are inside the wheel, CI runs the README's command."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO


def test_every_subpackage_is_listed_in_pyproject() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "genesis_cli").rglob("__init__.py")}
    assert on_disk | {"genesis_cli.presets"} == listed


def _readme_test_command() -> str:
    lines = (REPO / "README.md").read_text().splitlines()
    start = lines.index("<!-- ci:test-command -->")
    fence = start + 1
    assert lines[fence].startswith("```")
    end = lines.index("```", fence + 1)
    return "\n".join(lines[fence + 1:end])


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    """.ci/run extracts the command with awk; the same extraction must find the README's command."""
    script = (REPO / ".ci" / "run").read_text()
    awk = script.split("test_command=$(", 1)[1].split(" README.md)", 1)[0]
    extracted = subprocess.run(["bash", "-c", f"{awk} README.md"], cwd=REPO, capture_output=True,
                               text=True, check=True).stdout.strip()
    assert extracted == _readme_test_command()
    assert "pytest" in extracted


def test_wheel_ships_the_presets_and_the_installed_copy_finds_them(tmp_path: Path) -> None:
    """Build the wheel (isolated build, as pip does for users), install it elsewhere, run it."""
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                            str(tmp_path / "dist"), str(REPO)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("genesis_icecube-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for preset in ["default", "cnn", "hybrid", "small_model", "debug", "cpu", "mlp", "resnet"]:
        assert f"genesis_cli/presets/{preset}.yaml" in names
    assert "genesis_cli/engine/detector/data/icecube86.csv" in names  # the built-in detector
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "genesis = genesis_cli.cli.app:main" in zipfile.ZipFile(wheel).read(entry_points).decode()

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
                    str(wheel)], check=True, capture_output=True)
    code = ("from genesis_cli.settings.presets import preset_dir, preset_names; "
            "from genesis_cli.engine.detector import icecube86_geometry; "
            "print(preset_dir()); print(len(preset_names())); print(icecube86_geometry().n_doms)")
    shown = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(site)}, check=True).stdout.split()
    assert Path(shown[0]) == (site / "genesis_cli" / "presets").resolve()
    assert shown[1] == "9" and shown[2] == "5160"  # nine presets (gpu, issue 25)


def test_configuration_reference_is_up_to_date() -> None:
    from genesis_cli.settings.reference import markdown_reference

    committed = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == markdown_reference(), (
        "docs/configuration.md is stale: python -m genesis_cli.settings.reference > docs/configuration.md")
