"""ARCHITECTURE.md stays true: every module path it names exists, and the layering it states holds."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOC = (REPO / "ARCHITECTURE.md").read_text()


@pytest.mark.parametrize("path", sorted(set(re.findall(r"`((?:genesis_cli|benchmarks)/[^`]*)`", DOC))))
def test_every_path_the_page_names_exists(path: str) -> None:
    assert (REPO / path).exists(), f"ARCHITECTURE.md names {path}, which does not exist"


def _imports(folder: Path) -> list[tuple[Path, str]]:
    """(file, imported module) for every import statement of the GENESIS package under ``folder``."""
    found = []
    for source in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((source, node.module))
            elif isinstance(node, ast.Import):
                found += [(source, alias.name) for alias in node.names]
    return [(source, module) for source, module in found if module.split(".")[0] == "genesis_cli"]


def test_settings_import_neither_the_engine_nor_the_cli() -> None:
    assert not [(str(p), m) for p, m in _imports(REPO / "genesis_cli" / "settings")
                if m.startswith(("genesis_cli.engine", "genesis_cli.cli"))]


def test_the_engine_never_imports_the_cli_or_the_package_root() -> None:
    assert not [(str(p), m) for p, m in _imports(REPO / "genesis_cli" / "engine")
                if m.startswith("genesis_cli.cli") or m == "genesis_cli"]


@pytest.mark.parametrize("folder", ["engine/sampling", "engine/evaluation", "engine/runs", "engine/runtime",
                                    "cli/dashboard.py"])
def test_readers_of_runs_do_not_import_training(folder: str) -> None:
    target = REPO / "genesis_cli" / folder
    imports = _imports(target) if target.is_dir() else [(target, m) for _, m in _imports(target.parent)
                                                        if _ == target]
    assert not [(str(p), m) for p, m in imports if m.startswith("genesis_cli.engine.training")]
