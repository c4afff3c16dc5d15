"""Writing files atomically, the one way every GENESIS output is written (text, JSON, figures,
checkpoints): into a hidden ``.<name>.partial`` sibling, flushed to the disk, then renamed over the
final name, and the folder synced. A crash or kill at any moment leaves the previous file or the
new one, never half of one; a failed write leaves nothing behind and says why in one line.
(HDF5 event files, written in blocks over minutes, follow the same rule in data/writer.py.)
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from genesis_cli.errors import GenesisError

#: Below this much free space a failed write is reported as a full disk.
FULL_DISK_BYTES = 16 * 2**20
WRITABLE_HINT = "check that the folder exists and is writable"


def partial_path(path: Path) -> Path:
    """The temporary sibling a write of ``path`` goes through."""
    return path.with_name(f".{path.name}.partial")


def write_atomic(path: Path, write: Callable[[Path], None], *, what: str = "", hint: str = WRITABLE_HINT) -> Path:
    """Write ``path`` through ``write(temporary)``, atomically and durably (fsync of file and folder).

    ``what`` names the kind of file in the error ("checkpoint": "PATH: cannot write checkpoint
    (no space left on the device: 3.1 MiB free)"); ``hint`` says what to do.
    """
    temporary = partial_path(path)
    try:
        write(temporary)
        _fsync(temporary, os.O_RDONLY)
        os.replace(temporary, path)
        _fsync(path.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except (OSError, RuntimeError) as exc:  # torch.save and matplotlib report a full disk as RuntimeError
        temporary.unlink(missing_ok=True)
        label = f"cannot write {what}" if what else "cannot write"
        raise GenesisError(f"{path}: {label} ({write_failure(exc, path.parent)})", hint=hint) from exc
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def write_folder_atomic(folder: Path, fill: Callable[[Path], object], *, what: str = "") -> Path:
    """Build ``folder`` through ``fill(temporary)`` in a hidden sibling, then put it in place: a folder that
    was there (the caller checked --overwrite) stays whole until the new one is complete, and is
    removed only after. A failure leaves the old folder and no partial one."""
    temporary, old = partial_path(folder), folder.with_name(f".{folder.name}.old")
    for leftover in (temporary, old):
        shutil.rmtree(leftover, ignore_errors=True)
    try:
        temporary.mkdir()
        fill(temporary)
        if folder.exists():
            os.replace(folder, old)
        os.replace(temporary, folder)
        shutil.rmtree(old, ignore_errors=True)
    except (OSError, RuntimeError) as exc:
        shutil.rmtree(temporary, ignore_errors=True)
        if old.exists() and not folder.exists():
            os.replace(old, folder)
        label = f"cannot write {what}" if what else "cannot write"
        raise GenesisError(f"{folder}: {label} ({write_failure(exc, folder.parent)})", hint=WRITABLE_HINT) from exc
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        if old.exists() and not folder.exists():
            os.replace(old, folder)
        raise
    return folder


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; on failure nothing is left behind."""
    return write_atomic(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))


def _fsync(path: Path, flags: int) -> None:
    descriptor = os.open(path, flags)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_failure(exc: BaseException, folder: Path) -> str:
    """Why a write failed, in words: the OS's reason, or a full disk (torch and h5py report one as
    RuntimeError, with a message about their internals)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = None
    if free is not None and free < FULL_DISK_BYTES:
        return f"no space left on the device: {free / 2**20:.1f} MiB free"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
