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


@pytest.fixture(scope="session")
def toy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated event file (400 mixed events, built-in IceCube), made once per session."""
    from genesis_cli.engine.detector import icecube86_geometry
    from genesis_cli.engine.simulation.runner import simulate_to_file
    from genesis_cli.settings.simulation import SimulationConfig

    path = tmp_path_factory.mktemp("data") / "toy.h5"
    simulate_to_file(path, SimulationConfig(events=400, seed=7), icecube86_geometry())
    return path


@pytest.fixture(scope="session")
def trained_run(toy_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run of the debug model trained one epoch on ``toy_file`` (made once per session; read only)."""
    from genesis_cli.engine.training import session
    from tests.test_training import config_for

    config = config_for(toy_file, tmp_path_factory.mktemp("run"), "shared", "training.num_epochs=1")
    session.run(session.prepare_new_run(config))
    return Path(config.checkpoint_dir) / "shared"


def write_event_file(path: Path, *, n: int = 8, n_doms: int = 12, **datasets: object) -> Path:
    """A hand-made event file: valid by default; pass a dataset as None to omit it, or an array."""
    import h5py
    import numpy as np

    rng = np.random.default_rng(0)
    npe = rng.poisson(0.5, (n, n_doms)).astype(np.float32)
    time = np.where(npe > 0, rng.uniform(1000, 5000, (n, n_doms)), np.inf).astype(np.float32)
    defaults = {
        "input": np.stack([npe, time], axis=1),
        "label": np.column_stack([rng.uniform(1e3, 1e5, n), rng.uniform(0, np.pi, n),
                                  rng.uniform(0, 2 * np.pi, n), rng.uniform(-100, 100, (n, 3))]),
        "xpmt": np.repeat([0.0, 100.0, 200.0], n_doms // 3).astype(float),
        "ypmt": np.repeat([0.0, 50.0, 0.0], n_doms // 3).astype(float),
        "zpmt": np.tile(np.linspace(100, -100, n_doms // 3), 3),
    }
    defaults.update(datasets)
    with h5py.File(path, "w") as handle:
        for name, value in defaults.items():
            if value is not None:
                handle[name] = value
    return path
