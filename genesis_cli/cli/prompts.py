"""Questions the CLI asks on a terminal, and only there.

A prompt appears only when stdin is a terminal and CI is not set; every question has a default
that scripts get without being asked (and are told about), so a command never hangs in a pipeline
or a batch job.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import typer

from genesis_cli.cli.output import console


def interactive() -> bool:
    """Whether the user can answer: stdin is a terminal and this is not a CI run."""
    return sys.stdin.isatty() and not os.environ.get("CI")


def choose(question: str, options: Sequence[str], default: int = 0) -> int:
    """Ask for one of ``options`` by number (1-based on screen); returns its index. Enter takes ``default``."""
    out = console()
    out.print(f"[bold]{question}[/bold]")
    for index, option in enumerate(options, start=1):
        marker = "[bold cyan]>[/]" if index - 1 == default else " "
        out.print(f" {marker} {index}. {option}")
    while True:
        answer = typer.prompt("Choose", default=str(default + 1), show_default=True).strip()
        if answer.isdigit() and 1 <= int(answer) <= len(options):
            return int(answer) - 1
        out.print(f"[yellow]Enter a number from 1 to {len(options)}.[/]")


def confirm(question: str, default: bool = False) -> bool:
    """A yes/no question before a destructive action (default: no)."""
    return typer.confirm(question, default=default)
