"""Option types shared by several commands, so that one flag means one thing everywhere."""

from __future__ import annotations

from typing import Any

import typer

from genesis_cli.settings.base import MAX_SEED


def overwrite_option(what: str = "existing output files") -> Any:
    """``--overwrite``: replace outputs that exist (never an input; see engine/outputs.py)."""
    return typer.Option("--overwrite", help=f"Replace {what}.")


def seed_option(help: str) -> Any:
    """``--seed N``: 0 <= N < 2**32 (numpy's legacy RNG takes 32 bits), checked before any work."""
    return typer.Option("--seed", min=0, max=MAX_SEED, help=help)
