"""Writing result files atomically: a ``.partial`` sibling, then a rename, so no reader (and no crash)
ever sees half a file, and a failed write names the file in one line."""

from __future__ import annotations

import os
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
        raise GenesisError(f"{path}: cannot write ({exc.strerror or exc})",
                           hint="check that the folder exists and is writable") from exc
    return path
