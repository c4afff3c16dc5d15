"""How the CLI talks to users: one style for errors, hints and notices.

Results go to stdout; errors, hints and notices go to stderr, so ``genesis config show > x.yaml``
captures clean YAML. Every message is one line (soft wrap: Rich never breaks it), and colour is
dropped automatically when the stream is not a terminal.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

#: Set to 1/true/yes to show full tracebacks without passing --debug.
DEBUG_ENV = "GENESIS_DEBUG"


#: Seconds between plain progress lines when stderr is not a terminal (batch logs, pipes).
PLAIN_PROGRESS_SECONDS = 10.0

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
    """``Error: ...`` per line, then ``Hint: ...``, then (when debugging) the traceback of ``exc``: the
    message a user reads comes first, the traceback for the report after it."""
    err = console(stderr=True)
    for line in lines:
        err.print(f"[bold red]Error:[/] {escape(line)}")
    if hint:
        err.print(f"[yellow]Hint:[/] {escape(hint)}")
    if debug and exc is not None:
        err.print(escape("".join(traceback.format_exception(exc))).rstrip(), style="dim")


def print_notice(text: str) -> None:
    """A one-line ``Note: ...`` on stderr: something the user should know, not a failure."""
    console(stderr=True).print(f"[cyan]Note:[/] {escape(text)}")


def print_warning(text: str) -> None:
    """A one-line ``Warning: ...`` on stderr: the command goes on, but its result may not be what was meant."""
    console(stderr=True).print(f"[bold yellow]Warning:[/] {escape(text)}")


def print_success(text: str) -> None:
    """A one-line confirmation on stdout."""
    console().print(f"[green]✓[/] {escape(text)}")


@contextmanager
def progress_callback(total: int, description: str, *,
                      clock: Callable[[], float] = time.monotonic) -> Iterator[Callable[[int], None]]:
    """A ``progress(done)`` callback drawing a bar with items/s on stderr.

    Piped or redirected output (a batch job's log) gets no control codes but plain lines instead
    (``plain_progress``). The bar is always stopped, so an interruption restores the cursor.
    """
    err = console(stderr=True)
    if not err.is_interactive:
        yield plain_progress(total, description, err, clock)
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


def plain_progress(total: int, description: str, out: Console,
                   clock: Callable[[], float] = time.monotonic) -> Callable[[int], None]:
    """A ``progress(done)`` callback printing one plain line at the first update, then at most every
    PLAIN_PROGRESS_SECONDS, and at the end: ``sampling gen.h5: 512 / 2,000 (26%), 34.1/s, ETA 0:00:44``."""
    start, last = clock(), [float("-inf")]

    def advance(done: int) -> None:
        now = clock()
        if done < total and now - last[0] < PLAIN_PROGRESS_SECONDS:
            return
        last[0] = now
        elapsed = now - start
        rate = done / elapsed if elapsed > 0 else 0.0
        left = f", ETA {duration_text((total - done) / rate)}" if 0 < done < total and rate > 0 else ""
        speed = f", {rate:,.1f}/s" if rate > 0 else ""
        out.print(escape(f"{description}: {done:,} / {total:,} ({100 * done / max(total, 1):.0f}%){speed}{left}"))

    return advance



def duration_text(seconds: float) -> str:
    """``0:00:44``, ``2:05:13``: elapsed times and ETAs, as the training dashboard shows them."""
    return str(timedelta(seconds=int(max(seconds, 0))))
