"""``genesis convert``: bring events from other tools into GENESIS's HDF5 format."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from genesis_cli.cli.options import overwrite_option
from genesis_cli.cli.output import print_success, progress_callback
from genesis_cli.engine.outputs import Output, check_outputs
from genesis_cli.errors import UsageError

EXAMPLES = (
    "[bold]Examples[/bold]\n\n"
    "  genesis convert events.db events.h5 --geometry sensor_geometry.csv\n\n"
    "  genesis convert events.db numu.h5 --pulse-table SRTInIcePulses --where 'pid == 14'\n\n"
    "  genesis convert events.db e.h5 --label energy=energy_track"
)
#: Input formats by file extension (``--from`` names them).
FORMATS = {".db": "graphnet-sqlite", ".sqlite": "graphnet-sqlite", ".sqlite3": "graphnet-sqlite"}


def convert_command(
    source: Annotated[Path, typer.Argument(metavar="IN", help="GraphNeT SQLite database (.db).")],
    output: Annotated[Path, typer.Argument(metavar="OUT.h5", help="GENESIS event file to write.")],
    source_format: Annotated[Optional[str], typer.Option("--from", help="Input format (default: from IN's extension): graphnet-sqlite.")] = None,
    geometry: Annotated[Optional[Path], typer.Option(metavar="FILE.csv", help="DOM positions (CSV with x, y, z; the Kaggle sensor_geometry.csv works) instead of the built-in IceCube.")] = None,
    pulse_table: Annotated[Optional[str], typer.Option("--pulse-table", help="Pulse map table (default: the one table with pulse columns).")] = None,
    truth_table: Annotated[str, typer.Option("--truth-table", help="Truth table.")] = "truth",
    labels: Annotated[Optional[list[str]], typer.Option("--label", metavar="NAME=COLUMN", help="Truth column of a label (repeatable), e.g. energy=energy_track.")] = None,
    where: Annotated[Optional[str], typer.Option(metavar="'COLUMN OP NUMBER'", help="Keep events whose truth passes, e.g. 'pid == 14'.")] = None,
    tolerance: Annotated[float, typer.Option(help="Metres within which a pulse's DOM position matches a geometry DOM.")] = 1.0,
    overwrite: Annotated[bool, overwrite_option("OUT.h5 if it exists")] = False,
) -> None:
    """Convert another tool's events into a GENESIS event file.

    GraphNeT SQLite: each event's pulses are summed per DOM into [total charge, earliest time]; DOMs
    are matched to the geometry by position; the six labels come from the truth table. Streams in
    blocks, so databases larger than memory convert with bounded memory.
    """
    from genesis_cli.engine.convert.graphnet_sqlite import (GRAPHNET_LABELS, GraphnetDatabase, SqliteOptions,
                                                            convert_graphnet_sqlite)
    from genesis_cli.engine.detector import icecube_like_geometry, load_geometry_csv

    kind = source_format or FORMATS.get(source.suffix.lower())
    if kind not in set(FORMATS.values()):
        raise UsageError(f"{source}: cannot tell its format" if source_format is None else f"--from {source_format!r}: unknown format",
                         hint=f"formats: {', '.join(sorted(set(FORMATS.values())))} (--from FORMAT)")
    if tolerance <= 0:
        raise UsageError(f"--tolerance {tolerance}: must be > 0")
    mapping = dict(GRAPHNET_LABELS)
    for item in labels or []:
        name, _, column = item.partition("=")
        if not column:
            raise UsageError(f"--label {item!r}: expected NAME=COLUMN, e.g. energy=energy_track")
        mapping[name.strip()] = column.strip()
    check_outputs([Output(output, "OUT.h5")], {"IN": source, "--geometry": geometry}, overwrite=overwrite)
    detector = load_geometry_csv(geometry) if geometry else icecube_like_geometry()
    database = GraphnetDatabase(source, SqliteOptions(pulse_table, truth_table, mapping, where, tolerance))
    with progress_callback(database.count(), f"converting {source.name}") as advance:
        summary = convert_graphnet_sqlite(database, output, detector, overwrite=overwrite, progress=advance)
    print_success(f"wrote {summary.events:,} events ({summary.pulses:,} pulses) to {summary.path} in "
                  f"{summary.seconds:.1f} s, {summary.events_per_second:,.0f} events/s")
