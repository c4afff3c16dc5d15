"""Ctrl-C is honoured at safe points, and an interrupted simulation leaves no file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genesis_cli.engine.interrupts import deferred_interrupts


def test_sigint_is_deferred_to_the_next_check() -> None:
    with deferred_interrupts() as interrupt:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)  # the handler runs between bytecodes
        assert interrupt.requested
        with pytest.raises(KeyboardInterrupt):
            interrupt.check()
        interrupt.check()  # the request was consumed


def test_second_sigint_raises_at_once() -> None:
    with deferred_interrupts():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)


def test_previous_handler_is_restored() -> None:
    before = signal.getsignal(signal.SIGINT)
    with deferred_interrupts():
        pass
    assert signal.getsignal(signal.SIGINT) is before


def test_interrupted_simulation_exits_130_and_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "big.h5"
    partial = tmp_path / "big.h5.partial"
    process = subprocess.Popen([sys.executable, "-m", "genesis_cli", "simulate", str(out), "--events", "1000000"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not partial.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert partial.exists(), "the simulation never started writing"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "Interrupted." in stderr
    assert not out.exists() and not partial.exists()
