"""Questions the CLI asks on a terminal, and only there.

A prompt appears only when stdin is a terminal and CI is not set; every question has a default
that scripts get without being asked (and are told about), so a command never hangs in a pipeline
or a batch job.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import typer

from genesis_cli.cli.output import console
from genesis_cli.errors import EXIT_INTERRUPTED

#: The exit code of a cancel at any prompt: the "cancel" entry, "no" to a replace question, Ctrl-C or
#: Ctrl-D while asked. The same as Ctrl-C anywhere else (README: exit codes).
EXIT_CANCELLED = EXIT_INTERRUPTED
CANCEL = "cancel"


def interactive() -> bool:
    """Whether the user can answer: stdin is a terminal and this is not a CI run."""
    return sys.stdin.isatty() and not os.environ.get("CI")


def choose(question: str, options: Sequence[str], default: int = 0) -> int:
    """Ask for one of ``options`` by number (1-based on screen); returns its index. Enter takes ``default``.
    An option named ``cancel`` exits with EXIT_CANCELLED when chosen."""
    out = console()
    out.print(f"[bold]{question}[/bold]")
    for index, option in enumerate(options, start=1):
        marker = "[bold cyan]>[/]" if index - 1 == default else " "
        out.print(f" {marker} {index}. {option}")
    while True:
        answer = typer.prompt("Choose", default=str(default + 1), show_default=True).strip()
        if answer.isdigit() and 1 <= int(answer) <= len(options):
            if options[int(answer) - 1] == CANCEL:
                raise typer.Exit(EXIT_CANCELLED)
            return int(answer) - 1
        out.print(f"[yellow]Enter a number from 1 to {len(options)}.[/]")


def confirm(question: str, default: bool = False) -> bool:
    """A yes/no question before a destructive action (default: no)."""
    return typer.confirm(question, default=default)


def locate_checkpoint(path: Path) -> Path:
    """A checkpoint as the user wrote it, in the run layout (engine/runs/store.py); when several runs
    hold a file of that name, a terminal chooses (most recent first) and scripts get the error."""
    from genesis_cli.cli.output import print_notice
    from genesis_cli.engine.runs import store

    candidates = store.checkpoint_candidates(path) if not path.exists() else []
    if len(candidates) > 1 and interactive():
        found = candidates[choose(f"{path} is in {len(candidates)} runs. Which one? (most recent first)",
                                  [*(str(p) for p in candidates), CANCEL], default=0)]
        print_notice(store.resolved_notice(path, found))
        return found
    located, notice = store.locate_checkpoint(path)
    if notice:
        print_notice(notice)
    return located


def confirm_replacing(paths: Iterable[Path], overwrite: bool) -> None:
    """``--overwrite`` on a terminal: ask before replacing files that exist (default no). Scripts are
    not asked: the flag is their answer."""
    existing = [str(path) for path in paths if path.exists()]
    if overwrite and existing and interactive() and not confirm(f"Replace {', '.join(existing)}?"):
        raise typer.Exit(EXIT_CANCELLED)
