"""Option types shared by the commands, so that one flag means one thing everywhere.

Each common flag is declared here once: ``--config``, ``--set``, ``--device``, ``--seed``,
``--overwrite``, ``--json``, ``--geometry``, ``--arch`` and ``--sampler``. Names that have a fixed set of values
complete on the shell (``genesis --install-completion``): presets, architectures and samplers come
from the settings, where those lists are decided.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from genesis_cli.settings.base import MAX_SEED
from genesis_cli.settings.sections import ARCHITECTURES, SAMPLERS

DEVICES = ("auto", "cpu", "cuda")


def _starting(names: tuple[str, ...] | list[str], incomplete: str) -> list[str]:
    return [name for name in names if name.startswith(incomplete)]


def complete_preset(incomplete: str) -> list[str]:
    """Preset names and aliases (a YAML path is completed by the shell itself)."""
    from genesis_cli.settings.presets import ALIASES, preset_names

    return _starting([*preset_names(), *ALIASES], incomplete)


def complete_architecture(incomplete: str) -> list[str]:
    return _starting(ARCHITECTURES, incomplete)


def complete_sampler(incomplete: str) -> list[str]:
    return _starting(SAMPLERS, incomplete)


def complete_device(incomplete: str) -> list[str]:
    return _starting(DEVICES, incomplete)


ConfigOption = Annotated[Optional[str], typer.Option(
    "--config", "-c", metavar="PRESET|FILE", autocompletion=complete_preset,
    help="Preset name or YAML file (see `genesis presets`).")]
DeviceOption = Annotated[Optional[str], typer.Option(
    "--device", autocompletion=complete_device, help="auto, cpu, cuda or cuda:N.")]
ArchOption = Annotated[Optional[str], typer.Option(
    "--arch", autocompletion=complete_architecture, help=f"{', '.join(ARCHITECTURES)}.")]


def set_option(help: str = "Override any setting, e.g. training.learning_rate=3e-4 (repeatable; applied last).") -> Any:
    """``--set KEY=VALUE``, repeatable: any dotted settings key, applied after every other source."""
    return typer.Option("--set", metavar="KEY=VALUE", help=help)


SetOption = Annotated[Optional[list[str]], set_option()]


def sampler_option(help: str) -> Any:
    """``--sampler NAME``: one of the settings' samplers."""
    return typer.Option("--sampler", autocompletion=complete_sampler, help=help)


def overwrite_option(what: str = "existing output files") -> Any:
    """``--overwrite``: replace outputs that exist (never an input; see engine/outputs.py)."""
    return typer.Option("--overwrite", help=f"Replace {what}.")


def seed_option(help: str) -> Any:
    """``--seed N``: 0 <= N < 2**32 (numpy's legacy RNG takes 32 bits), checked before any work."""
    return typer.Option("--seed", min=0, max=MAX_SEED, help=help)


def json_option(help: str, metavar: str = "FILE") -> Any:
    """``--json FILE``: the command's results as JSON, written atomically."""
    return typer.Option("--json", metavar=metavar, help=help)


def geometry_option() -> Any:
    """``--geometry FILE``: a geometry table (CSV, or GraphNeT's and Prometheus' Parquet tables) instead of the built-in detector."""
    return typer.Option("--geometry", metavar="FILE", help="Detector geometry instead of the built-in IceCube-86: a CSV "
                        "with x, y, z (the Kaggle sensor_geometry.csv works) or a GraphNeT / Prometheus geometry "
                        "table (.parquet; PMTs merged into modules, surface modules left out).")


JsonOption = Annotated[Optional[Path], json_option("Write the results as JSON.")]
