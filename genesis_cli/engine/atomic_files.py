"""Writing result files atomically: a ``.partial`` sibling, then a rename, so no reader (and no crash)
ever sees half a file, and a failed write names the file in one line."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from genesis_cli.errors import GenesisError


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path``; on failure nothing is left behind and a GenesisError names it."""
    temporary = path.with_name(path.name + ".partial")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise GenesisError(f"{path}: cannot write ({write_failure(exc, path.parent)})",
                           hint="check that the folder exists and is writable") from exc
    return path


#: Below this much free space a failed write is reported as a full disk.
FULL_DISK_BYTES = 16 * 2**20


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
