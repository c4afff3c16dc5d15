"""GENESIS event files <-> GraphNeT Parquet, so generated events go straight into GraphNeT.

Layout (as GraphNeT's ParquetWriter and ParquetDataset use it): a folder with one subfolder per
table, ``truth/`` and the pulse map's (``SRTInIcePulses/`` by default). GraphNeT names the files two
ways: merged, ``truth/truth_<i>.parquet`` with ``SRTInIcePulses/SRTInIcePulses_<i>.parquet`` (what
its ParquetDataset opens, ``<table>/<table>_<i>.parquet`` for i = 0, 1, ...), and per input file,
``truth/<file>_truth.parquet`` with ``SRTInIcePulses/<file>_SRTInIcePulses.parquet``. Import pairs
either (and files of one name in both folders), in the order of i (numerically) or of the names.
Pulses are paired with their event by ``event_no``, never by row; events keep the file's row order.
Export writes the merged layout, one file pair per block of events. GraphNeT's ParquetDataset pairs
each truth row with the event's pulses by position after grouping the pulses by ``event_no``, so an
event without any hit DOM (no pulse row) would shift every later event of its file onto the wrong
truth: export leaves such events out, and says how many. Export writes one pulse per hit DOM
(charge = npe, dom_time = the first-hit time, and the DOM's rde and pmt_area from the file, else
from the built-in IceCube-86 where the DOMs are IceCube's: 1.35 on DeepCore's high-QE DOMs and
0.0444 m^2, as real IceCube pulses carry them; elsewhere 1 and 0.0444) and the truth columns
``energy, position_x/y/z, azimuth, zenith``. ``event_no`` is the file's own (its ``event_ids``, from
the source a conversion or ``sample --labels-from`` read) when those are unique, else the event's
index in the file; RunID, SubrunID, EventID and SubEventID are written where the file has them.
Import sums pulses per DOM as for SQLite and keeps ids, rde and pmt_area, so
HDF5 -> Parquet -> HDF5 is exact. pyarrow is an optional extra: ``pip install 'genesis-icecube[convert]'``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genesis_cli.engine.convert.layouts import (
    EVENT_COLUMN,
    GRAPHNET_LABELS,
    ICECUBE,
    PULSE_COLUMNS,
    RESPONSE_COLUMNS,
    SOURCE_ID_COLUMNS,
    TableLayout,
    layout_of,
    pulse_column_hint,
)
from genesis_cli.engine.convert.matching import DomMatcher
from genesis_cli.engine.convert.prometheus import FRAME_SAMPLE, in_genesis_frame
from genesis_cli.engine.convert.pulses import ConversionSummary, PulseBlock, pulses_to_file
from genesis_cli.engine.convert.source_files import parquet_reading
from genesis_cli.engine.data.eventfile import LABEL_COLUMNS, EventFile, EventIds
from genesis_cli.engine.detector import ICECUBE_PMT_AREA_M2, Geometry, icecube86_geometry, with_known_response
from genesis_cli.engine.extras import require_pyarrow
from genesis_cli.errors import DataError, UsageError

TRUTH_TABLE, PULSE_TABLE = ICECUBE.truth_table, ICECUBE.pulse_table
EXPORT_BLOCK = 4096


def export_graphnet_parquet(source: Path, out: Path, *, pulse_table: str = PULSE_TABLE, overwrite: bool = False,
                            progress: Callable[[int], None] | None = None) -> ConversionSummary:
    """Write ``source``'s events as a GraphNeT Parquet folder ``out`` (built beside it, then renamed into place)."""
    import time

    import pyarrow as pa

    parquet = require_pyarrow()
    started = time.perf_counter()
    partial = out.with_name(f".{out.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    n_pulses = left_out = 0
    try:
        with EventFile(source) as events:
            # rde: the file's efficiencies, else IceCube-86's where its DOMs are IceCube's (1.35 on DeepCore), else 1
            geometry = with_known_response(events.geometry, icecube86_geometry())
            efficiency = geometry.efficiency if geometry.efficiency is not None else np.ones(geometry.n_doms)
            area = geometry.pmt_area if geometry.pmt_area is not None else np.full(geometry.n_doms, ICECUBE_PMT_AREA_M2)
            numbers, source_ids = export_identities(events.ids(), events.n_events)
            for folder in (TRUTH_TABLE, pulse_table):
                (partial / folder).mkdir(parents=True)
            for k, start in enumerate(range(0, events.n_events, EXPORT_BLOCK)):
                stop = min(start + EXPORT_BLOCK, events.n_events)
                signals, labels = events.signals(start, stop), events.labels()[start:stop]
                lit = (signals[:, 0] > 0).any(axis=1)  # events with at least one hit DOM
                left_out += int((~lit).sum())
                signals, labels, block = signals[lit], labels[lit], np.arange(start, stop)[lit]
                row, dom = np.nonzero(signals[:, 0] > 0)
                pulses = {"dom_x": geometry.x[dom], "dom_y": geometry.y[dom], "dom_z": geometry.z[dom],
                          "dom_time": signals[row, 1, dom].astype(np.float64), "charge": signals[row, 0, dom].astype(np.float64),
                          "rde": efficiency[dom], "pmt_area": area[dom], EVENT_COLUMN: numbers[block][row]}
                truth = {GRAPHNET_LABELS[name]: labels[:, i].astype(np.float64) for i, name in enumerate(LABEL_COLUMNS)}
                truth[EVENT_COLUMN] = numbers[block]
                truth.update({name: values[block] for name, values in source_ids.items()})
                parquet.write_table(pa.table(pulses), partial / pulse_table / table_file(pulse_table, k))
                parquet.write_table(pa.table(truth), partial / TRUTH_TABLE / table_file(TRUTH_TABLE, k))
                n_pulses += len(dom)
                if progress is not None:
                    progress(stop)
            count = events.n_events
        if out.exists():  # checked by the caller: only with --overwrite
            shutil.rmtree(out) if out.is_dir() else out.unlink()
        os.replace(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return ConversionSummary(out, count - left_out, time.perf_counter() - started, pulses=n_pulses, left_out=left_out)


def export_identities(ids: EventIds | None, n_events: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """GraphNeT's ``event_no`` for each event (the file's own when unique, else its index) and the further
    ids the file holds (RunID, ...)."""
    own = ids.column(EVENT_COLUMN) if ids is not None else None
    numbers = own if own is not None and len(np.unique(own)) == n_events else np.arange(n_events)
    extra = {name: ids.values[:, k] for k, name in enumerate(ids.columns) if name in SOURCE_ID_COLUMNS} if ids else {}
    return numbers, extra


def table_file(table: str, index: int) -> str:
    """The name GraphNeT's ParquetDataset opens for block ``index`` of ``table``: ``<table>_<index>.parquet``."""
    return f"{table}_{index}.parquet"


def _merged_index(path: Path, table: str) -> int | None:
    match = re.fullmatch(rf"{re.escape(table)}_(\d+)\.parquet", path.name)
    return int(match.group(1)) if match else None


def truth_files(folder: Path, truth_table: str = TRUTH_TABLE) -> list[Path]:
    """The truth files of a GraphNeT Parquet folder in event order: merged ones by their number
    (truth_2 before truth_10), others by name."""
    files = list((folder / truth_table).glob("*.parquet"))

    def order(p: Path) -> tuple[bool, int, str]:
        index = _merged_index(p, truth_table)
        return index is None, index or 0, p.name

    return sorted(files, key=order)


def pulse_file_for(truth_file: Path, folder: Path, pulse_table: str, truth_table: str = TRUTH_TABLE) -> Path:
    """The pulse file holding ``truth_file``'s pulses, in either of GraphNeT's namings (or the same name)."""
    index, name = _merged_index(truth_file, truth_table), truth_file.name
    suffix = f"_{truth_table}.parquet"
    if index is not None:
        candidate = table_file(pulse_table, index)
    elif name.endswith(suffix):
        candidate = name[:-len(suffix)] + f"_{pulse_table}.parquet"
    else:
        candidate = name
    path = folder / pulse_table / candidate
    if not path.exists() and (folder / pulse_table / name).exists():
        path = folder / pulse_table / name
    if not path.exists():
        held = sorted(p.name for p in (folder / pulse_table).glob("*.parquet")) if (folder / pulse_table).is_dir() else []
        tables = sorted(d.name for d in folder.iterdir() if d.is_dir() and d.name != truth_table)
        raise DataError(f"{folder}: {truth_file.name} has no pulse file {path}",
                        hint=(f"{pulse_table}/ holds {', '.join(held[:4])}{' ...' if len(held) > 4 else ''}" if held else
                              f"pulse tables here: {', '.join(tables) or 'none'}; name one with --pulse-table"))
    return path


@dataclass(frozen=True)
class ParquetTables:
    """What to read from a GraphNeT Parquet folder: table names, label and pulse columns, ids."""

    truth_table: str
    pulse_table: str
    label_columns: list[str]
    pulse_columns: dict[str, str] = field(default_factory=dict)  # GENESIS pulse name -> the table's column
    ids: tuple[str, ...] = ()
    charge_per_row: bool = False  # Prometheus photons: no charge column, 1 PE a row

    @classmethod
    def of(cls, folder: Path, layout: TableLayout, *, pulse_table: str | None = None, labels: dict[str, str] | None = None,
           pulse_columns: dict[str, str] | None = None) -> ParquetTables:
        """The layout's names, with the user's where given; ids from the first truth file."""
        mapping = {**layout.labels, **(labels or {})}
        renamed = {**layout.pulse_columns, **(pulse_columns or {})}
        files = truth_files(folder, layout.truth_table)
        if files:
            with parquet_reading(files[0]):
                ids = id_columns(require_pyarrow().read_schema(files[0]).names)
        else:
            ids = ()
        return cls(layout.truth_table, pulse_table or layout.pulse_table, [mapping[name] for name in LABEL_COLUMNS],
                   renamed, ids, layout.photons and "charge" not in (pulse_columns or {}))

    def pulse_read(self) -> list[str]:
        """The pulse columns read: event, x, y, z, time and (unless one PE a row) charge."""
        names = {**{c: c for c in (EVENT_COLUMN, *PULSE_COLUMNS)}, **self.pulse_columns}
        fields = (EVENT_COLUMN, "dom_x", "dom_y", "dom_z", "dom_time", *(() if self.charge_per_row else ("charge",)))
        return [names[c] for c in fields]


def parquet_blocks(folder: Path, tables: ParquetTables) -> Iterator[PulseBlock]:
    """Blocks of a GraphNeT Parquet folder: each truth file with its pulse file, events in row order,
    with the truth's id columns (RunID, ...) beside event_no."""
    parquet = require_pyarrow()
    files = truth_files(folder, tables.truth_table)
    if not files:
        raise DataError(f"{folder}: no Parquet files in {folder / tables.truth_table}",
                        hint="point to a GraphNeT Parquet folder")
    wanted = tables.pulse_read()
    for truth_file in files:
        pulse_file = pulse_file_for(truth_file, folder, tables.pulse_table, tables.truth_table)
        with parquet_reading(truth_file):
            truth = parquet.read_table(truth_file)
        missing = [c for c in (*tables.label_columns, EVENT_COLUMN, *tables.ids) if c not in truth.column_names]
        if missing:
            raise DataError(f"{truth_file}: lacks column {missing[0]!r} (columns: {', '.join(truth.column_names)})",
                            hint="map labels to other truth columns with --label NAME=COLUMN")
        with parquet_reading(pulse_file):
            held = parquet.read_schema(pulse_file).names
        missing = [c for c in wanted if c not in held]
        if missing:
            raise DataError(f"{pulse_file}: lacks column {missing[0]!r}", hint=pulse_column_hint(held))
        with parquet_reading(pulse_file):
            pulses = parquet.read_table(pulse_file, columns=wanted + [c for c in RESPONSE_COLUMNS if c in held])
        events = np.asarray(truth[EVENT_COLUMN], dtype=np.int64)
        labels = np.column_stack([np.asarray(truth[c], dtype=np.float64) for c in tables.label_columns])
        table = np.column_stack([np.asarray(pulses[c], dtype=np.float64) for c in wanted] +
                                ([np.ones(len(pulses))] if tables.charge_per_row else []) +
                                [np.asarray(pulses[c], dtype=np.float64) if c in held else np.full(len(pulses), np.nan)
                                 for c in RESPONSE_COLUMNS])
        source_ids = (np.column_stack([np.asarray(truth[c].fill_null(-1), dtype=np.int64) for c in tables.ids])
                      if tables.ids else None)
        yield PulseBlock.of(events, labels, table, source_ids)


def id_columns(columns: list[str]) -> tuple[str, ...]:
    """The truth columns that identify events in IceCube's bookkeeping (SOURCE_ID_COLUMNS present)."""
    return tuple(c for c in SOURCE_ID_COLUMNS if c in columns)


def import_graphnet_parquet(folder: Path, out: Path, geometry: Geometry, *, pulse_table: str | None = None,
                            labels: dict[str, str] | None = None, pulse_columns: dict[str, str] | None = None,
                            tolerance_m: float = 1.0, z_offset: float | None = None, overwrite: bool = False,
                            progress: Callable[[int], None] | None = None,
                            on_message: Callable[[str], None] | None = None) -> ConversionSummary:
    """Convert a GraphNeT Parquet folder (IceCube pulse maps, or Prometheus photons: layouts.py) into a
    GENESIS event file; Prometheus photons are put into GENESIS's frame and direction convention."""
    layout = layout_of([d.name for d in folder.iterdir() if d.is_dir()])
    if z_offset is not None and not layout.photons:
        raise UsageError("--z-offset applies to Prometheus photons only", hint="drop --z-offset")
    tables = ParquetTables.of(folder, layout, pulse_table=pulse_table, labels=labels, pulse_columns=pulse_columns)
    attrs: dict[str, Any] = {
        "generator": "genesis convert", "source": str(folder), "source_format": "graphnet-parquet",
        "pulse_table": tables.pulse_table, "truth_table": tables.truth_table, "geometry_source": geometry.source,
        "label_columns_source": dict(zip(LABEL_COLUMNS, tables.label_columns))}
    matcher = DomMatcher(geometry, tolerance_m, str(folder))
    blocks: Iterable[PulseBlock] = parquet_blocks(folder, tables)
    if layout.photons:
        attrs["layout"] = layout.name

        def first() -> np.ndarray:  # the first file's photon positions
            block = next(iter(parquet_blocks(folder, tables)), None)
            return block.pulses[:FRAME_SAMPLE, 1:4] if block is not None else np.empty((0, 3))

        blocks = in_genesis_frame(blocks, first, folder, geometry, tolerance_m, z_offset, attrs, on_message)
    return pulses_to_file(blocks, out, geometry, matcher, attrs, id_columns=tables.ids, overwrite=overwrite,
                          progress=progress)
