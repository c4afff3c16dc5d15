"""Every command through Typer's CliRunner, plus the CLI's error style and exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from genesis_cli import __version__
from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def test_version(cli: Cli) -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"genesis {__version__}"


@pytest.mark.parametrize("args", [["--help"], ["presets", "--help"], ["config", "--help"],
                                  ["config", "show", "--help"], ["config", "validate", "--help"],
                                  ["inspect-data", "--help"], ["simulate", "--help"]])
def test_help_works_for_every_command(cli: Cli, args: list[str]) -> None:
    result = cli(*args)
    assert result.exit_code == 0
    assert "Usage: genesis" in result.stdout


@pytest.mark.parametrize("args", [["presets", "--help"], ["config", "--help"],
                                  ["config", "show", "--help"], ["config", "validate", "--help"],
                                  ["inspect-data", "--help"], ["simulate", "--help"]])
def test_every_command_help_has_an_example(cli: Cli, args: list[str]) -> None:
    help_text = cli(*args).stdout
    assert "Examples" in help_text
    assert "genesis " + " ".join(args[:-1]) in help_text  # the example runs this very command


def test_no_arguments_shows_help(cli: Cli) -> None:
    result = cli()
    assert "Usage: genesis" in result.output
    assert "presets" in result.output and "config" in result.output


def test_presets_lists_all_seven(cli: Cli) -> None:
    result = cli("presets")
    assert result.exit_code == 0
    for name in ["default (dit)", "cnn", "hybrid", "small_model", "debug", "mlp", "resnet"]:
        assert name in result.stdout
    assert "512x8, 8 heads" in result.stdout
    assert "256x6, k 3,5,7,9" in result.stdout


def test_config_show_with_set_prints_parseable_yaml(cli: Cli) -> None:
    """Done-when of issue #2."""
    result = cli("config", "show", "--config", "cnn", "--set", "training.learning_rate=3e-4")
    assert result.exit_code == 0
    assert "learning_rate: 0.0003" in result.stdout
    data = yaml.safe_load(result.stdout)
    assert data["model"]["architecture"] == "cnn"
    assert data["training"]["learning_rate"] == 3e-4


def test_config_show_defaults(cli: Cli) -> None:
    data = yaml.safe_load(cli("config", "show").stdout)
    assert data["model"]["hidden"] == 512
    assert data["training"]["early_stopping_patience"] == 20


def test_config_show_on_a_terminal_is_highlighted_yaml(cli: Cli) -> None:
    result = cli("config", "show", "--config", "cnn", env={"FORCE_COLOR": "1", "TERM": "xterm-256color"})
    assert result.exit_code == 0
    assert yaml.safe_load(result.stdout)["model"]["kernel_sizes"] == [3, 5, 7, 9]


def test_config_show_notice_goes_to_stderr(cli: Cli) -> None:
    result = cli("config", "show", "--config", "configs/hybrid.yaml")
    assert result.exit_code == 0
    assert "Note: configs/hybrid.yaml not found; using the built-in preset 'hybrid'" in result.stderr
    assert yaml.safe_load(result.stdout)["model"]["architecture"] == "hybrid"


def test_config_validate_valid_file(cli: Cli, write_yaml: Callable[..., Path]) -> None:
    path = write_yaml("base: cnn\ntraining:\n  num_epochs: 5\n")
    result = cli("config", "validate", str(path))
    assert result.exit_code == 0
    assert f"{path}: valid (cnn, 256 hidden, 6 layers; 5 epochs, batch 16)" in result.stdout


@pytest.mark.parametrize("text,message", [
    ("trainning:\n  num_epochs: 3\n", ":1: trainning: unknown key; did you mean training?"),
    ("training:\n  early_stoping_patience: 3\n",
     ":2: training.early_stoping_patience: unknown key; did you mean early_stopping_patience?"),
])
def test_config_validate_typo_exits_2_with_suggestion_and_no_traceback(
        cli: Cli, write_yaml: Callable[..., Path], text: str, message: str) -> None:
    """Done-when of issue #2."""
    path = write_yaml(text)
    result = cli("config", "validate", str(path))
    assert result.exit_code == 2
    assert f"Error: {path}{message}" in result.stderr
    assert "Hint:" in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_config_validate_reports_every_file(cli: Cli, write_yaml: Callable[..., Path]) -> None:
    good = write_yaml("seed: 1\n", "good.yaml")
    bad = write_yaml("seed: -1\n", "bad.yaml")
    result = cli("config", "validate", str(bad), str(good), "missing.yaml")
    assert result.exit_code == 2
    assert f"{good}: valid" in result.stdout
    assert f"Error: {bad}:1: seed: input should be greater than or equal to 0 (got -1)" in result.stderr
    assert "Error: missing.yaml: file not found" in result.stderr


def test_each_error_is_one_line(cli: Cli) -> None:
    result = cli("config", "show", "--set", "training.early_stoping_patience=3")
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert len(result.stderr.strip().splitlines()) == 2  # the error and its hint


def test_unknown_option_uses_the_same_error_style(cli: Cli) -> None:
    result = cli("config", "show", "--bogus")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: No such option: --bogus",
        "Hint: run 'genesis config show --help' for usage",
    ]


def test_unknown_command_suggests(cli: Cli) -> None:
    result = cli("preset")
    assert result.exit_code == 2
    assert "Error: No such command 'preset'" in result.stderr


def test_unknown_preset_exits_2(cli: Cli) -> None:
    result = cli("config", "show", "--config", "dti")
    assert result.exit_code == 2
    assert "Error: 'dti' is neither a config file nor a preset; did you mean dit?" in result.stderr


def _break_catalog(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    def broken() -> list[object]:
        raise exc

    monkeypatch.setattr("genesis_cli.cli.presets.preset_catalog", broken)


def test_unexpected_error_exits_1_without_traceback(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    _break_catalog(monkeypatch, RuntimeError("boom"))
    result = cli("presets")
    assert result.exit_code == 1
    assert "Error: unexpected RuntimeError: boom" in result.stderr
    assert "Traceback" not in result.stderr
    assert "--debug" in result.stderr


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_traceback(cli: Cli, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    _break_catalog(monkeypatch, RuntimeError("boom"))
    result = cli("--debug", "presets") if how == "flag" else cli("presets", env={"GENESIS_DEBUG": "1"})
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert "Error: unexpected RuntimeError: boom" in result.stderr


def test_config_error_traceback_only_with_debug(cli: Cli) -> None:
    assert "Traceback" not in cli("config", "show", "--set", "seed=-1").stderr
    assert "Traceback" in cli("--debug", "config", "show", "--set", "seed=-1").stderr


def test_ctrl_c_exits_130(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    _break_catalog(monkeypatch, KeyboardInterrupt())
    result = cli("presets")
    assert result.exit_code == 130
    assert "Interrupted" in result.stderr


def _run_process(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("GENESIS_DEBUG", None)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=60)


def test_python_dash_m_works() -> None:
    result = _run_process("-m", "genesis_cli", "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"genesis {__version__}"


def test_python_dash_m_exit_code_for_config_error() -> None:
    result = _run_process("-m", "genesis_cli", "config", "show", "--set", "model.hiden=3")
    assert result.returncode == 2
    assert "model.hiden: unknown key; did you mean hidden?" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_start_up_does_not_import_torch() -> None:
    """`genesis --help` must stay fast: torch is never imported at CLI start-up."""
    code = ("import sys, genesis_cli.cli.app; "
            "from genesis_cli.cli.app import app; "
            "assert 'torch' not in sys.modules, 'torch imported at start-up'")
    assert _run_process("-c", code).returncode == 0


def test_piped_output_has_no_ansi_codes() -> None:
    result = _run_process("-m", "genesis_cli", "config", "show", "--config", "debug")
    assert "\x1b[" not in result.stdout
    assert yaml.safe_load(result.stdout)["model"]["hidden"] == 128
