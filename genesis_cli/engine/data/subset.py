"""Writing a subset of a file's events (e.g. its test split) as a new event file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genesis_cli.engine.data.eventfile import EventFile
from genesis_cli.engine.data.loader import read_blocks
from genesis_cli.engine.data.writer import EventWriter


def write_subset(source: Path, indices: np.ndarray, out: Path, *, overwrite: bool = False) -> Path:
    """Copy events ``indices`` (any order; written sorted) of ``source`` to ``out`` with the same geometry
    (rde and pmt_area included) and the events' source identities."""
    rows = np.sort(np.asarray(indices, dtype=np.int64))
    with EventFile(source) as events:
        labels, ids = events.labels(), events.ids()
        with EventWriter(out, events.geometry, attrs={"generator": "genesis subset", "source": str(source)},
                         overwrite=overwrite, id_columns=ids.columns if ids else None) as writer:
            for chosen, raw in read_blocks(events, rows):
                writer.append(raw, labels[chosen].astype(np.float32), ids=ids.values[chosen] if ids else None)
            return writer.finish()
