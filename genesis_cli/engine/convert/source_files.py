"""Refusing a truncated or corrupt source file at once, naming it (Parquet and SQLite inputs of convert).

A file cut short in a copy must fail with one line naming it, not with a library's traceback or, worse,
convert without a word: SQLite reads the pages a query touches, so a database missing its last pages
answers every query that happens not to need them. HDF5 event files have their own check
(``eventfile.open_h5``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from genesis_cli.errors import DataError

#: The hint every truncated or corrupt source file gets (the same words as an HDF5 event file's).
DAMAGED_HINT = "re-copy or regenerate the file"
SQLITE_HEADER = 100  # bytes; https://www.sqlite.org/fileformat.html#the_database_header


@contextmanager
def parquet_reading(path: Path) -> Iterator[None]:
    """Turn pyarrow's errors while reading ``path`` into one DataError naming the file.

    pyarrow raises ArrowInvalid, OSError or other ArrowException subclasses for a cut or damaged file
    ("Parquet magic bytes not found in footer"); any of them means the same to the user. Other errors
    (ours, numpy's) pass through unchanged.
    """
    try:
        yield
    except (OSError, ValueError) as exc:
        if not isinstance(exc, OSError) and not type(exc).__module__.startswith("pyarrow"):
            raise
        raise DataError(f"{path}: not a readable Parquet file; it is truncated or corrupt ({type(exc).__name__})",
                        hint=DAMAGED_HINT) from exc


def check_sqlite_complete(path: Path) -> None:
    """Refuse a SQLite database shorter than its header says it is (a truncated copy).

    The header holds the page size (offset 16) and the database's size in pages (offset 28), valid when
    its version-valid-for number (offset 92) equals the change counter (offset 24). A database with a
    write-ahead log may have grown past its header, so one with a ``-wal`` file beside it is not judged.
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        header = handle.read(SQLITE_HEADER)
    if len(header) < SQLITE_HEADER or not header.startswith(b"SQLite format 3\x00"):
        return  # sqlite3 itself refuses what is not a database
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    change_counter, pages = struct.unpack(">II", header[24:32])
    valid_for = struct.unpack(">I", header[92:96])[0]
    if valid_for != change_counter or Path(f"{path}-wal").exists():
        return
    expected = pages * page_size
    if size < expected:
        raise DataError(f"{path}: truncated SQLite database ({size:,} of its {expected:,} bytes)", hint=DAMAGED_HINT)
