"""Shared fixtures: a CLI runner with ANSI codes stripped, and config-file helpers."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genesis_cli.cli.app import app

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


@dataclass
class CliResult:
    """What a user sees: exit code and ANSI-free stdout/stderr."""

    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., CliResult]:
    """Run ``genesis ARGS...`` in-process, as a user on a wide terminal would."""
    monkeypatch.delenv("GENESIS_DEBUG", raising=False)
    runner = CliRunner()

    def run(*args: str, env: dict[str, str] | None = None) -> CliResult:
        result = runner.invoke(app, list(args), env={"COLUMNS": "200", "TERM": "dumb", **(env or {})})
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception  # a bug escaped the CLI's error boundary
        return CliResult(result.exit_code, strip_ansi(result.stdout), strip_ansi(result.stderr),
                         result.exception)

    return run


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write dedented YAML text to ``tmp_path/name`` and return the path."""

    def write(text: str, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write
