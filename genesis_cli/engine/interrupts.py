"""Ctrl-C and SIGTERM handled at safe points.

Python raises KeyboardInterrupt wherever the signal lands; inside a weakref callback or __del__
(h5py runs many) the exception is printed and *ignored*, so a long loop may never stop. Long
operations therefore record SIGINT as a flag and raise KeyboardInterrupt at a safe point between
units of work (a batch, a training step), where cleanup is well defined. A second signal raises
at once, for a loop stuck inside one unit.

SIGTERM (a SLURM time limit or preemption, ``docker stop``, ``kill``) is handled the same way and
raises :class:`Terminated`, a KeyboardInterrupt, so everything that saves on Ctrl-C saves on it
too; the CLI exits 143 (128 + 15), the code a scheduler expects from a terminated job.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """The process was asked to stop by SIGTERM; ``exit_code`` is 128 + the signal number."""

    exit_code = 128 + int(signal.SIGTERM)


def interruption(signum: int) -> KeyboardInterrupt:
    """The exception a signal turns into at a safe point."""
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def exit_code_of(interrupt: KeyboardInterrupt) -> int:
    """The CLI's exit code for an interruption: 130 for Ctrl-C, 143 for SIGTERM."""
    return getattr(interrupt, "exit_code", 128 + int(signal.SIGINT))


class InterruptFlag:
    """Set by SIGINT or SIGTERM inside :func:`deferred_interrupts`; ``check()`` raises at a safe point."""

    def __init__(self) -> None:
        self.signal: int | None = None

    @property
    def requested(self) -> bool:
        return self.signal is not None

    def check(self) -> None:
        """Raise KeyboardInterrupt (Terminated for SIGTERM) if a signal arrived since the last check."""
        if self.signal is not None:
            signum, self.signal = self.signal, None
            raise interruption(signum)


@contextmanager
def deferred_interrupts() -> Iterator[InterruptFlag]:
    """Defer SIGINT and SIGTERM to ``flag.check()`` calls for the duration of the block (main thread only)."""
    flag = InterruptFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag  # signals are delivered to the main thread only; nothing to defer here
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if flag.requested:  # a second signal: the user (or the scheduler) insists
            raise interruption(signum)
        flag.signal = signum

    previous = {signum: signal.signal(signum, handler) for signum in HANDLED}
    try:
        yield flag
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
