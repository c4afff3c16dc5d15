"""``genesis convert``: bring events from other tools into GENESIS's HDF5 format."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Optional

import typer

from genesis_cli.cli.options import geometry_option, overwrite_option
from genesis_cli.cli.output import print_notice, print_success, progress_callback
from genesis_cli.cli.prompts import confirm_replacing
from genesis_cli.engine.outputs import Output, check_outputs
from genesis_cli.errors import UsageError

EXAMPLES = (
    "[bold]Examples[/bold]\n\n"
    "  genesis convert events.db events.h5 --geometry sensor_geometry.csv\n\n"
    "  genesis convert events.db numu.h5 --pulse-table SRTInIcePulses --where 'pid == 14'\n\n"
    "  genesis convert events.db e.h5 --label energy=energy_track\n\n"
    "  genesis convert generated.h5 generated_parquet        [dim]# GraphNeT Parquet: truth/ and SRTInIcePulses/[/dim]"
)
#: Formats by file extension (``--from``/``--to`` name them); a folder holding ``truth/`` is GraphNeT Parquet.
FORMATS = {".db": "graphnet-sqlite", ".sqlite": "graphnet-sqlite", ".sqlite3": "graphnet-sqlite",
           ".h5": "genesis-hdf5", ".hdf5": "genesis-hdf5", ".parquet": "prometheus-parquet"}
#: (from, to) pairs that convert.
ROUTES = (("graphnet-sqlite", "genesis-hdf5"), ("graphnet-parquet", "genesis-hdf5"), ("prometheus-parquet", "genesis-hdf5"),
          ("genesis-hdf5", "graphnet-parquet"))


def _format_of(path: Path) -> str | None:
    if path.is_dir() and ((path / "truth").is_dir() or (path / "mc_truth").is_dir()):
        return "graphnet-parquet"
    return FORMATS.get(path.suffix.lower())


def convert_command(
    source: Annotated[Path, typer.Argument(metavar="IN", help="GraphNeT SQLite database (.db), GraphNeT Parquet folder, Prometheus file (.parquet) or GENESIS file (.h5).")],
    output: Annotated[Path, typer.Argument(metavar="OUT", help="GENESIS event file (.h5), or a GraphNeT Parquet folder for a .h5 input.")],
    source_format: Annotated[Optional[str], typer.Option("--from", help="graphnet-sqlite, graphnet-parquet, prometheus-parquet or genesis-hdf5 (default: from IN).")] = None,
    target_format: Annotated[Optional[str], typer.Option("--to", help="genesis-hdf5 or graphnet-parquet (default: the other side of IN's format).")] = None,
    geometry: Annotated[Optional[Path], geometry_option()] = None,
    pulse_table: Annotated[Optional[str], typer.Option("--pulse-table", help="Pulse map table (default: SQLite: the one table with pulse columns; Parquet: SRTInIcePulses).")] = None,
    truth_table: Annotated[Optional[str], typer.Option("--truth-table", help="Truth table (SQLite; default: truth, or mc_truth for GraphNeT's Prometheus tables).")] = None,
    labels: Annotated[Optional[list[str]], typer.Option("--label", metavar="NAME=COLUMN", help="Truth column (Prometheus: mc_truth field) of a label (repeatable), e.g. energy=energy_track.")] = None,
    pulse_columns: Annotated[Optional[list[str]], typer.Option("--pulse-column", metavar="NAME=COLUMN", help="The pulse table's column for a pulse field (repeatable; NAME: dom_x, dom_y, dom_z, dom_time, charge, string, dom_number, event_no), e.g. dom_time=t.")] = None,
    where: Annotated[Optional[str], typer.Option(metavar="'COLUMN OP NUMBER'", help="Keep events whose truth passes, e.g. 'pid == 14' (SQLite).")] = None,
    tolerance: Annotated[float, typer.Option(help="Metres within which a pulse's DOM position matches a geometry DOM.")] = 1.0,
    match: Annotated[str, typer.Option(help="position (dom_x/y/z) or id (string and dom_number; SQLite) to find a pulse's DOM.")] = "position",
    z_offset: Annotated[Optional[float], typer.Option("--z-offset", metavar="METRES", help="Prometheus photons (its files, or GraphNeT's Prometheus tables): shift sensor and vertex z by this into the geometry's frame (default: found from the photons: 0, or 1948.07 for Prometheus' surface-origin frame).")] = None,
    overwrite: Annotated[bool, overwrite_option("OUT if it exists")] = False,
) -> None:
    """Convert events between GENESIS files and GraphNeT's SQLite and Parquet formats.

    Into GENESIS: each event's pulses are summed per DOM into [total charge, earliest time]; DOMs are
    matched to the geometry by position; the six labels come from the truth table. Streams in
    blocks, so inputs larger than memory convert with bounded memory. Out of GENESIS: GraphNeT
    Parquet, one pulse per hit DOM, so generated events go straight into GraphNeT.
    """
    from genesis_cli.engine.convert.layouts import PULSE_NAMES
    from genesis_cli.engine.data.eventfile import LABEL_COLUMNS

    kind_in = source_format or _format_of(source)
    kind_out = target_format or ("graphnet-parquet" if kind_in == "genesis-hdf5" else "genesis-hdf5")
    if (kind_in, kind_out) not in ROUTES:
        what = f"{source}: cannot tell its format" if kind_in is None else f"cannot convert {kind_in} to {kind_out}"
        raise UsageError(what, hint="routes: " + ", ".join(f"{a} -> {b}" for a, b in ROUTES) + " (--from, --to)")
    if tolerance <= 0:
        raise UsageError(f"--tolerance {tolerance}: must be > 0")
    overrides = _mapping("--label", labels or [], LABEL_COLUMNS, "energy=energy_track", "a GENESIS label")
    renamed = _mapping("--pulse-column", pulse_columns or [], PULSE_NAMES, "dom_time=t", "a pulse field GENESIS reads")
    if renamed and kind_in not in ("graphnet-sqlite", "graphnet-parquet"):
        raise UsageError("--pulse-column applies to GraphNeT SQLite and Parquet pulse tables", hint="drop --pulse-column")
    if match not in ("position", "id"):
        raise UsageError(f"--match {match!r}: use position or id")
    if match == "id" and kind_in != "graphnet-sqlite":
        raise UsageError("--match id reads SQLite databases only", hint="match by position")
    if z_offset is not None and kind_in == "genesis-hdf5":
        raise UsageError("--z-offset applies to Prometheus photons only", hint="drop --z-offset")
    if z_offset is not None and not math.isfinite(z_offset):
        raise UsageError(f"--z-offset {z_offset}: must be a finite number of metres")
    if where is not None and kind_in != "graphnet-sqlite":
        raise UsageError("--where selects events of SQLite databases only", hint="drop --where")
    if kind_out == "graphnet-parquet":
        _export(source, output, pulse_table, overwrite)
        return
    check_outputs([Output(output, "OUT")], {"IN": source if source.is_file() else None, "--geometry": geometry},
                  overwrite=overwrite)
    confirm_replacing([output], overwrite)
    from genesis_cli.engine.detector import icecube86_geometry, load_geometry

    detector = load_geometry(geometry) if geometry else icecube86_geometry()
    if kind_in == "graphnet-sqlite":
        from genesis_cli.engine.convert.graphnet_sqlite import GraphnetDatabase, SqliteOptions, convert_graphnet_sqlite

        database = GraphnetDatabase(source, SqliteOptions(pulse_table, truth_table, overrides, where, renamed, tolerance,
                                                          match=match, z_offset=z_offset))
        with progress_callback(database.count(), f"converting {source.name}") as advance:
            summary = convert_graphnet_sqlite(database, output, detector, overwrite=overwrite, progress=advance,
                                              on_message=print_notice)
    elif kind_in == "prometheus-parquet":
        from genesis_cli.engine.convert.prometheus import convert_prometheus

        summary = convert_prometheus(source, output, detector, labels=overrides, tolerance_m=tolerance,
                                     z_offset=z_offset, overwrite=overwrite, on_message=print_notice)
    else:
        from genesis_cli.engine.convert.graphnet_parquet import import_graphnet_parquet

        summary = import_graphnet_parquet(source, output, detector, pulse_table=pulse_table, labels=overrides,
                                          pulse_columns=renamed, tolerance_m=tolerance, z_offset=z_offset,
                                          overwrite=overwrite, on_message=print_notice)
    print_success(f"wrote {summary.events:,} events ({summary.pulses:,} pulses) to {summary.path} in "
                  f"{summary.seconds:.1f} s, {summary.events_per_second:,.0f} events/s")


#: Extensions that name a file: an export's output is a folder, so a name like out.h5 is a mistake.
FILE_SUFFIXES = (".h5", ".hdf5", ".hdf", ".parquet", ".db", ".sqlite")


def _export(source: Path, output: Path, pulse_table: str | None, overwrite: bool) -> None:
    """GENESIS file -> GraphNeT Parquet folder."""
    from genesis_cli.engine.convert.graphnet_parquet import PULSE_TABLE, export_graphnet_parquet
    from genesis_cli.engine.data.eventfile import EventFile
    from genesis_cli.engine.extras import require_pyarrow

    require_pyarrow()
    if output.suffix.lower() in FILE_SUFFIXES:
        raise UsageError(f"OUT {output}: an event file converts into a GraphNeT Parquet folder, not a "
                         f"{output.suffix} file", hint=f"name the folder without an extension, e.g. {output.with_suffix('')}_parquet")
    if output.exists() and not overwrite:
        raise UsageError(f"{output}: already exists", hint="choose another name or pass --overwrite")
    if not output.parent.exists():
        raise UsageError(f"OUT {output}: output directory does not exist ({output.parent})", hint="create it first")
    with EventFile(source) as events:
        total = events.n_events
    with progress_callback(total, f"exporting {source.name}") as advance:
        summary = export_graphnet_parquet(source, output, pulse_table=pulse_table or PULSE_TABLE, overwrite=overwrite,
                                          progress=advance)
    if summary.left_out:
        print_notice(f"{summary.left_out:,} events without any hit DOM left out: GraphNeT pairs truth rows with "
                     "their pulses by position, and an event without pulses would shift the events after it")
    print_success(f"wrote {summary.events:,} events ({summary.pulses:,} pulses) as GraphNeT Parquet to "
                  f"{summary.path} in {summary.seconds:.1f} s, {summary.events_per_second:,.0f} events/s")


def _mapping(flag: str, items: list[str], names: tuple[str, ...], example: str, what: str) -> dict[str, str]:
    """``NAME=COLUMN`` items as a dict, each NAME one of ``names`` (one-line errors naming the flag)."""
    mapping: dict[str, str] = {}
    for item in items:
        name, _, column = item.partition("=")
        if not column.strip():
            raise UsageError(f"{flag} {item!r}: expected NAME=COLUMN, e.g. {example}")
        if name.strip() not in names:
            raise UsageError(f"{flag} {name.strip()}: not {what}; use {', '.join(names)}")
        mapping[name.strip()] = column.strip()
    return mapping
