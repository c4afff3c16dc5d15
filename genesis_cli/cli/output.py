"""How the CLI talks to users: one style for errors, hints and notices.

Results go to stdout; errors, hints and notices go to stderr, so ``genesis config show > x.yaml``
captures clean YAML. Every message is one line (soft wrap: Rich never breaks it), and colour is
dropped automatically when the stream is not a terminal.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

#: Set to 1/true/yes to show full tracebacks without passing --debug.
DEBUG_ENV = "GENESIS_DEBUG"


#: Width of wide tables when output goes to a file or pipe (Rich would assume 80 columns).
WIDE_OUTPUT_COLUMNS = 160


def console(*, stderr: bool = False, wide: bool = False) -> Console:
    """A console bound to the current stdout/stderr (a new one per call follows redirections).

    ``wide``: tables with many columns are not squeezed to 80 columns in files and pipes.
    """
    out = Console(stderr=stderr, soft_wrap=True, highlight=False)
    if wide and not out.is_terminal:
        out.width = WIDE_OUTPUT_COLUMNS
    return out


def debug_from_env() -> bool:
    """Whether ``GENESIS_DEBUG`` asks for tracebacks."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def print_error(lines: Sequence[str], hint: str | None = None,
                exc: BaseException | None = None, debug: bool = False) -> None:
    """``Error: ...`` per line, then ``Hint: ...``; the traceback of ``exc`` when debugging."""
    err = console(stderr=True)
    if debug and exc is not None:
        err.print(escape("".join(traceback.format_exception(exc))).rstrip(), style="dim")
    for line in lines:
        err.print(f"[bold red]Error:[/] {escape(line)}")
    if hint:
        err.print(f"[yellow]Hint:[/] {escape(hint)}")


def print_notice(text: str) -> None:
    """A one-line ``Note: ...`` on stderr: something the user should know, not a failure."""
    console(stderr=True).print(f"[cyan]Note:[/] {escape(text)}")


def print_success(text: str) -> None:
    """A one-line confirmation on stdout."""
    console().print(f"[green]✓[/] {escape(text)}")


@contextmanager
def progress_callback(total: int, description: str) -> Iterator[Callable[[int], None]]:
    """A ``progress(done)`` callback drawing a bar with items/s on stderr.

    On a terminal only: piped or redirected output gets no control codes (the command's summary
    line says what happened). The bar is always stopped, so an interruption restores the cursor.
    """
    err = console(stderr=True)
    if not err.is_interactive:
        yield lambda done: None
        return
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("[dim]{task.fields[rate]}"),
                        TimeRemainingColumn(), console=err, transient=True)
    task = progress.add_task(description, total=total, rate="")
    progress.start()
    try:
        def advance(done: int) -> None:
            speed = progress.tasks[0].speed
            progress.update(task, completed=done, rate=f"{speed:,.0f}/s" if speed else "")

        yield advance
    finally:
        progress.stop()
