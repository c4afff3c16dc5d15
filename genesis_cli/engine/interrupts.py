"""Ctrl-C handled at safe points.

Python raises KeyboardInterrupt wherever the signal lands; inside a weakref callback or __del__
(h5py runs many) the exception is printed and *ignored*, so a long loop may never stop. Long
operations therefore record SIGINT as a flag and raise KeyboardInterrupt at a safe point between
units of work (a batch, a training step), where cleanup is well defined. A second Ctrl-C raises
at once, for a loop stuck inside one unit.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class InterruptFlag:
    """Set by SIGINT inside :func:`deferred_interrupts`; ``check()`` raises at a safe point."""

    def __init__(self) -> None:
        self.requested = False

    def check(self) -> None:
        """Raise KeyboardInterrupt if Ctrl-C was pressed since the last check."""
        if self.requested:
            self.requested = False
            raise KeyboardInterrupt


@contextmanager
def deferred_interrupts() -> Iterator[InterruptFlag]:
    """Defer SIGINT to ``flag.check()`` calls for the duration of the block (main thread only)."""
    flag = InterruptFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag  # signals are delivered to the main thread only; nothing to defer here
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if flag.requested:  # second Ctrl-C: the user insists
            raise KeyboardInterrupt
        flag.requested = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
