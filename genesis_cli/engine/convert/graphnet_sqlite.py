"""GraphNeT SQLite databases -> GENESIS event files.

GraphNeT's ``DataConverter`` writes one table per pulse map (columns ``FEATURES.ICECUBE86``:
dom_x, dom_y, dom_z, dom_time, charge, rde, pmt_area; plus ``event_no``) and a ``truth`` table
(``TRUTH.ICECUBE86``: energy, position_x/y/z, azimuth, zenith, pid, ...; plus ``event_no``), or, for
Prometheus simulation, ``mc_truth`` and a photon table (layouts.py). Each event's pulses are summed per DOM into GENESIS's [total charge, earliest time]; the DOM is
found by position (matching.py). The source's event identities (``event_no``; RunID, SubrunID,
EventID, SubEventID where the truth table has them) become the file's ``event_ids``, and the pulses'
``rde`` and ``pmt_area`` its per-DOM values. Events stream in blocks, so memory stays bounded for databases
larger than memory; stdlib ``sqlite3`` reads them (no extra package).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from genesis_cli.engine.convert.layouts import (
    EVENT_COLUMN,
    ID_COLUMNS,
    PULSE_COLUMNS,
    RESPONSE_COLUMNS,
    SOURCE_ID_COLUMNS,
    TableLayout,
    layout_of,
    pulse_column_hint,
)
from genesis_cli.engine.convert.matching import DomMatcher, IdMatcher
from genesis_cli.engine.convert.prometheus import FRAME_SAMPLE, in_genesis_frame
from genesis_cli.engine.convert.pulses import ConversionSummary, PulseBlock, pulses_to_file
from genesis_cli.engine.convert.source_files import DAMAGED_HINT, check_sqlite_complete
from genesis_cli.engine.data.eventfile import LABEL_COLUMNS
from genesis_cli.engine.detector import Geometry
from genesis_cli.errors import DataError, UsageError

MATCHES = ("position", "id")
_FILTER = re.compile(r"^\s*([A-Za-z_]\w*)\s*(==|!=|<=|>=|<|>)\s*([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)\s*$")


@dataclass(frozen=True)
class SqliteOptions:
    """What to read: the pulse table (None: the one table with the pulse columns), the truth table (None:
    the layout's), the truth column of labels not read from the layout's, an event filter on a truth
    column ("pid == 14"), and for Prometheus photons the z shift into the geometry's frame (None: found)."""

    pulse_table: str | None = None
    truth_table: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    where: str | None = None
    pulse_columns: dict[str, str] = field(default_factory=dict)  # GENESIS pulse name -> the table's column
    tolerance_m: float = 1.0
    block_events: int = 512
    match: str = "position"  # or "id": by (string, dom_number)
    z_offset: float | None = None
    charge_per_row: bool = False  # no charge column: every row is one photon, 1 PE

    def within(self, layout: TableLayout) -> SqliteOptions:
        """These options with the layout's names wherever the user named none."""
        return replace(self, truth_table=self.truth_table or layout.truth_table,
                       labels={**layout.labels, **self.labels}, pulse_columns={**layout.pulse_columns, **self.pulse_columns},
                       charge_per_row=layout.photons and "charge" not in self.pulse_columns)

    @property
    def location_columns(self) -> tuple[str, ...]:
        """The pulse columns that locate a pulse's DOM (three; the id match pads with dom_number)."""
        names = ("dom_x", "dom_y", "dom_z") if self.match == "position" else (*ID_COLUMNS, ID_COLUMNS[1])
        return tuple(self.pulse_column(name) for name in names)

    def pulse_column(self, name: str) -> str:
        """The source's column for GENESIS pulse column ``name`` (as named unless --pulse-column maps it)."""
        return self.pulse_columns.get(name, name)

    @property
    def pulse_read(self) -> tuple[str, ...]:
        """The pulse columns read, in the order blocks hold them: event, location (3), time, charge
        (no charge for photons: each row is 1 PE)."""
        return (self.pulse_column(EVENT_COLUMN), *self.location_columns, self.pulse_column("dom_time"),
                *(() if self.charge_per_row else (self.pulse_column("charge"),)))


class GraphnetDatabase:
    """A GraphNeT SQLite database opened read-only, its tables and columns checked."""

    def __init__(self, path: Path, options: SqliteOptions) -> None:
        if not path.exists():
            raise UsageError(f"{path}: file not found")
        self.path = path
        check_sqlite_complete(path)
        try:
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            tables = {name: self._columns(name) for (name,) in
                      self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise DataError(f"{path}: not a readable SQLite database; it is truncated or corrupt ({exc})",
                            hint=DAMAGED_HINT) from exc
        self.layout = layout_of(list(tables))
        if options.z_offset is not None and not self.layout.photons:
            raise UsageError("--z-offset applies to Prometheus photons only", hint="drop --z-offset")
        self.options = options = options.within(self.layout)
        truth = options.truth_table or self.layout.truth_table
        if truth not in tables:
            raise DataError(f"{path}: no truth table {truth!r} (tables: {', '.join(sorted(tables)) or 'none'})",
                            hint="name it with --truth-table")
        self.pulses = options.pulse_table or self._pulse_table(tables)
        if self.pulses not in tables:
            raise DataError(f"{path}: no pulse table {self.pulses!r} (tables: {', '.join(sorted(tables))})",
                            hint="name it with --pulse-table")
        self._require(self.pulses, tables[self.pulses], options.pulse_read,
                      hint=pulse_column_hint(tables[self.pulses]))
        unknown = [label for label in options.labels if label not in LABEL_COLUMNS]
        if unknown:
            raise UsageError(f"--label {unknown[0]}: not a GENESIS label; use {', '.join(LABEL_COLUMNS)}")
        self.label_columns = [options.labels[label] for label in LABEL_COLUMNS]
        self._require(truth, tables[truth], (*self.label_columns, EVENT_COLUMN),
                      hint="map labels to other truth columns with --label NAME=COLUMN")
        self.where, self.where_value = self._filter(options.where, tables[truth])
        self.id_columns = tuple(c for c in SOURCE_ID_COLUMNS if c in tables[truth])
        self.truth_table = truth
        self.response_sql = [f'"{c}"' if c in tables[self.pulses] else "NULL" for c in RESPONSE_COLUMNS]

    def _columns(self, table: str) -> list[str]:
        return [row[1] for row in self.db.execute(f'PRAGMA table_info("{table}")')]

    def _pulse_table(self, tables: dict[str, list[str]]) -> str:
        wanted = set(self.options.pulse_read[1:])
        found = [name for name, columns in tables.items() if wanted <= set(columns)]
        if len(found) != 1:
            raise DataError(f"{self.path}: {'no table' if not found else 'several tables'} with pulse columns "
                            f"{', '.join(sorted(wanted))}{': ' + ', '.join(found) if found else ''}",
                            hint="name the pulse table with --pulse-table")
        return found[0]

    def _require(self, table: str, columns: list[str], wanted: tuple[str, ...] | list[str], *, hint: str) -> None:
        missing = [c for c in wanted if c not in columns]
        if missing:
            raise DataError(f"{self.path}: table {table!r} lacks column {missing[0]!r} (columns: {', '.join(columns)})",
                            hint=hint)

    def _filter(self, text: str | None, columns: list[str]) -> tuple[str, tuple[float, ...]]:
        """A safe SQL condition from "column op number" (column checked, value bound as a parameter)."""
        if not text:
            return "", ()
        match = _FILTER.match(text)
        if not match:
            raise UsageError(f"--where {text!r}: expected COLUMN OP NUMBER, e.g. 'pid == 14' (OP: == != < <= > >=)")
        column, op, value = match.group(1), match.group(2), float(match.group(3))
        if column not in columns:
            raise UsageError(f"--where {text!r}: the truth table has no column {column!r}",
                             hint=f"columns: {', '.join(columns)}")
        return f' WHERE "{column}" {"=" if op == "==" else op} ?', (value,)

    def count(self) -> int:
        query = f'SELECT COUNT(*) FROM "{self.truth_table}"{self.where}'
        return int(self.db.execute(query, self.where_value).fetchone()[0])

    def blocks(self) -> Iterator[PulseBlock]:
        """The events in event_no order, a block at a time, with their pulses (rde, pmt_area where given)."""
        columns = ", ".join(f'"{c}"' for c in (EVENT_COLUMN, *self.label_columns))
        ids = ", ".join(f'COALESCE(CAST("{c}" AS INTEGER), -1)' for c in self.id_columns)  # -1: not recorded
        truth = self.db.execute(f'SELECT {columns}{", " + ids if ids else ""} FROM "{self.truth_table}"'
                                f'{self.where} ORDER BY "{EVENT_COLUMN}"', self.where_value)
        pulse_columns = ", ".join([*(f'"{c}"' for c in self.options.pulse_read),
                                   *(("1.0",) if self.options.charge_per_row else ()), *self.response_sql])
        reader = self.db.cursor()
        n_labels = len(self.label_columns)
        while rows := truth.fetchmany(self.options.block_events):
            events = np.array([row[0] for row in rows], dtype=np.int64)
            labels = np.array([row[1:1 + n_labels] for row in rows], dtype=np.float64)
            source_ids = np.array([row[1 + n_labels:] for row in rows], dtype=np.int64) if self.id_columns else None
            pulses = reader.execute(f'SELECT {pulse_columns} FROM "{self.pulses}" '
                                    f'WHERE "{self.options.pulse_column(EVENT_COLUMN)}" BETWEEN ? AND ?',
                                    (int(events[0]), int(events[-1]))).fetchall()
            table = np.asarray(pulses, dtype=np.float64).reshape(-1, 1 + len(PULSE_COLUMNS) + len(RESPONSE_COLUMNS))
            yield PulseBlock.of(events, labels, table, source_ids)

    def positions_sample(self, n: int) -> np.ndarray:
        """(<= n, 3) positions of the first pulses (to find a Prometheus frame)."""
        columns = ", ".join(f'"{c}"' for c in self.options.location_columns)
        rows = self.db.execute(f'SELECT {columns} FROM "{self.pulses}" LIMIT ?', (n,)).fetchall()
        return np.asarray(rows, dtype=np.float64).reshape(-1, 3)

    def close(self) -> None:
        self.db.close()


def convert_graphnet_sqlite(database: GraphnetDatabase, out: Path, geometry: Geometry, *, overwrite: bool = False,
                            progress: Callable[[int], None] | None = None,
                            on_message: Callable[[str], None] | None = None) -> ConversionSummary:
    """Convert an opened GraphNeT database into a GENESIS event file (all or nothing); closes it.
    Prometheus photons are put into GENESIS's frame and direction convention (prometheus.py)."""
    source, options = database.path, database.options
    try:
        if database.count() == 0:
            raise DataError(f"{source}: no event{' passes --where ' + repr(options.where) if options.where else ''}")
        attrs = {"generator": "genesis convert", "source": str(source), "source_format": "graphnet-sqlite",
                 "pulse_table": database.pulses, "truth_table": options.truth_table,
                 "label_columns_source": dict(zip(LABEL_COLUMNS, database.label_columns)),
                 "event_filter": options.where or "", "geometry_source": geometry.source}
        matcher = (DomMatcher(geometry, options.tolerance_m, str(source)) if options.match == "position"
                   else IdMatcher(geometry, str(source)))
        blocks: Iterable[PulseBlock] = database.blocks()
        if database.layout.photons:
            attrs["layout"] = database.layout.name
            blocks = in_genesis_frame(blocks, lambda: database.positions_sample(FRAME_SAMPLE), source, geometry,
                                      options.tolerance_m, options.z_offset, attrs, on_message)
        return pulses_to_file(blocks, out, geometry, matcher, attrs, id_columns=database.id_columns,
                              overwrite=overwrite, progress=progress)
    finally:
        database.close()
