"""Writing a subset of a file's events (e.g. its test split) as a new event file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genesis_cli.engine.data.eventfile import EventFile
from genesis_cli.engine.data.loader import read_blocks
from genesis_cli.engine.data.writer import EventWriter


def write_subset(source: Path, indices: np.ndarray, out: Path, *, overwrite: bool = False) -> Path:
    """Copy events ``indices`` (any order; written sorted) of ``source`` to ``out`` with the same geometry."""
    rows = np.sort(np.asarray(indices, dtype=np.int64))
    with EventFile(source) as events:
        labels = events.labels()
        with EventWriter(out, events.geometry, attrs={"generator": "genesis subset", "source": str(source)},
                         overwrite=overwrite) as writer:
            for chosen, raw in read_blocks(events, rows):
                writer.append(raw, labels[chosen].astype(np.float32))
            return writer.finish()
