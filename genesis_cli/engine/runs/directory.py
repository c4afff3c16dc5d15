"""A run directory, claimed safely: one training process at a time, and nothing lost on --overwrite.

- **One process per run.** Training holds an exclusive ``fcntl.flock`` on ``RUN_DIR/.lock`` for its
  whole life (the kernel drops it when the process dies, however it dies), so a second
  ``genesis train`` or ``genesis resume`` of the same run gets a one-line error naming the holder
  instead of interleaving logs and deleting the other's files.
- **A directory only once training can start.** The directory is created after the data, config
  and model are validated (the caller claims it then), so a failed start leaves nothing behind.
- **Overwrite moves aside, then removes.** ``--overwrite`` moves the old run's files (and its
  TensorBoard event files) into ``.replaced/`` folders next to them; they are deleted only once
  the new run has written its first checkpoint. If the new run fails before that, its own files
  are removed and the old run is moved back, as if nothing had happened.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from genesis_cli.errors import UsageError
from genesis_cli.settings import ExperimentConfig

LOCK_NAME = ".lock"
ASIDE_NAME = ".replaced"
TENSORBOARD_FILES = "events.out.tfevents.*"


def run_directory(config: ExperimentConfig) -> Path:
    """Where a run's checkpoints, config and logs live: checkpoint_dir/experiment_name."""
    return Path(config.checkpoint_dir) / config.experiment_name


def _holder_text(handle: IO[str]) -> str:
    handle.seek(0)
    return handle.read().strip() or "another process"


def lock_holder(run_dir: Path) -> str | None:
    """Who holds ``run_dir``'s lock now ("pid 123 on host since ..."), or None when nobody does."""
    path = run_dir / LOCK_NAME
    if not path.exists():
        return None
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder_text(handle)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def busy_error(run_dir: Path, holder: str) -> UsageError:
    return UsageError(f"{run_dir}: in use by another training process ({holder})",
                      hint="wait for it to finish, stop it, or choose another --experiment-name")


class RunClaim:
    """This process's hold on a run directory (see the module docstring); a context manager."""

    def __init__(self, run_dir: Path, *, command: str) -> None:
        self.run_dir = run_dir
        self.command = command
        self.created = False  # this claim created the directory
        self.aside: list[tuple[Path, Path]] = []  # (original, set-aside) paths of a replaced run
        self.written: list[tuple[Path, str]] = []  # (folder, glob) of what the new run writes before its first checkpoint
        self.committed = False  # the new run wrote its first checkpoint: the replaced run is gone
        self._lock: IO[str] | None = None

    # -- acquiring ----------------------------------------------------------------------------------
    def __enter__(self) -> RunClaim:
        self.created = not self.run_dir.exists()
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            handle = open(self.run_dir / LOCK_NAME, "a+", encoding="utf-8")  # noqa: SIM115 - held until release
        except OSError as exc:
            raise UsageError(f"{self.run_dir}: cannot create or write the run directory ({exc.strerror or exc})",
                             hint="set checkpoint_dir to a writable place") from exc
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder_text(handle)
            handle.close()
            raise busy_error(self.run_dir, holder) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')} "
                     f"({self.command})\n")
        handle.flush()
        self._lock = handle
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: object) -> None:
        try:
            if kind is not None and not self.committed:
                self.roll_back()
        finally:
            self.release()

    def release(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                self._lock.truncate(0)  # no stale holder text once nobody holds it
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    # -- replacing a run ------------------------------------------------------------------------------
    def set_aside(self, files: Iterable[Path]) -> None:
        """Move ``files`` into a ``.replaced/`` folder beside each (same filesystem: a rename)."""
        for path in files:
            folder = path.parent / ASIDE_NAME
            folder.mkdir(exist_ok=True)
            target = folder / path.name
            os.replace(path, target)
            self.aside.append((path, target))

    def will_write(self, folder: Path, pattern: str) -> None:
        """Files matching ``pattern`` in ``folder`` are the new run's: a failed start removes them."""
        self.written.append((folder, pattern))

    def commit(self) -> None:
        """The new run wrote its first checkpoint: delete the replaced run for good."""
        if self.committed:
            return
        self.committed = True
        for folder in {aside.parent for _, aside in self.aside}:
            shutil.rmtree(folder, ignore_errors=True)
        self.aside, self.written = [], []

    def roll_back(self) -> None:
        """The new run failed before its first checkpoint: remove what it wrote, restore what it replaced."""
        for folder, pattern in self.written:
            for path in folder.glob(pattern):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        for original, aside in reversed(self.aside):
            if aside.exists():
                os.replace(aside, original)
        for folder in {aside.parent for _, aside in self.aside}:
            with contextlib.suppress(OSError):
                folder.rmdir()
        self.aside, self.written = [], []
        if self.created:
            with contextlib.suppress(OSError):
                (self.run_dir / LOCK_NAME).unlink()
                self.run_dir.rmdir()
