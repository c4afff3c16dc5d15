"""Geometry tables: DOM positions (and what is known of each DOM) from a CSV or Parquet file.

One reader for every table a user brings to ``--geometry``:

- CSV with a header: ``x, y, z`` (the Kaggle ``sensor_geometry.csv``; the IceCube table
  ``dom_id, string, dom, x, y, z``), optionally ``efficiency`` (or ``rde``), ``pmt_area``.
- GraphNeT's geometry tables (``data/geometry_tables/icecube/*.parquet``): one row per PMT with
  ``dom_x, dom_y, dom_z, string, dom_number, pmt_number, dom_type, rde, pmt_area``. Their PMTs are
  merged into modules, one GENESIS DOM per (string, dom_number): the mean position, the mean rde,
  the summed photocathode area (an Upgrade mDOM's 24 PMTs are one DOM, as GENESIS events are per
  module). Surface modules (IceTop tanks, scintillators, IceAct; I3OMGeo types 30, 40, 50) are
  left out: in-ice pulse maps never hit them, and they would stretch the detector 2.4 km upwards.
- Prometheus' geometry tables as GraphNeT ships them (``geometry_tables/prometheus/*.parquet``):
  ``sensor_pos_x/y/z``, ``sensor_string_id``, ``sensor_id``.

Columns are found by name, case-insensitively; other columns are ignored.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from genesis_cli.engine.detector.geometry import Geometry
from genesis_cli.engine.extras import require_pyarrow
from genesis_cli.errors import UsageError

#: Names a table may give each position column, in order of preference.
POSITION_NAMES = {"x": ("x", "dom_x", "sensor_pos_x"), "y": ("y", "dom_y", "sensor_pos_y"),
                  "z": ("z", "dom_z", "sensor_pos_z")}
EFFICIENCY_NAMES = ("efficiency", "rde")
STRING_NAMES = ("string", "sensor_string_id")
DOM_NAMES = ("dom", "dom_number")
#: I3OMGeo OM types on the surface (IceTop tank DOMs, scintillators, IceAct): not in-ice DOMs.
SURFACE_DOM_TYPES = (30, 40, 50)
MODULE_STRIDE = 100_000  # string * stride + dom: one integer key per module


def load_geometry(path: Path) -> Geometry:
    """The geometry table at ``path``: Parquet by its ``.parquet`` suffix, CSV otherwise."""
    if path.suffix.lower() in (".parquet", ".pq"):
        return load_geometry_parquet(path)
    return load_geometry_csv(path)


def load_geometry_csv(path: Path) -> Geometry:
    """DOM positions from a CSV file with a header (module docstring: the columns read)."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            names = [name.strip().lower() for name in (reader.fieldnames or [])]
            rows = [[row.get(key, "") for key in (reader.fieldnames or [])] for row in reader]
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: geometry file not found") from exc
    except IsADirectoryError as exc:
        raise UsageError(f"{path}: is a directory, not a geometry table") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not a text CSV file") from exc
    columns = {name: [row[i] for row in rows] for i, name in enumerate(names)}
    return _geometry(path, columns, "CSV", hint="the header must name x, y and z (metres)")


def load_geometry_parquet(path: Path) -> Geometry:
    """DOM positions from a Parquet table (GraphNeT's and Prometheus' geometry tables read as they are)."""
    parquet = require_pyarrow()
    if not path.exists():
        raise UsageError(f"{path}: geometry file not found")
    try:
        table = parquet.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for non-Parquet files
        raise UsageError(f"{path}: not a readable Parquet table ({type(exc).__name__})") from exc
    columns = {name.lower(): table[name].to_numpy(zero_copy_only=False) for name in table.column_names}
    return _geometry(path, columns, "table",
                     hint="GENESIS reads x/y/z, dom_x/dom_y/dom_z (GraphNeT) or sensor_pos_x/y/z (Prometheus)")


def _first(columns: dict[str, object], names: tuple[str, ...]) -> str | None:
    return next((name for name in names if name in columns), None)


def _numbers(path: Path, columns: dict[str, object], name: str, kind: str) -> np.ndarray:
    try:
        return np.asarray(columns[name], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{path}: geometry column {name!r} holds a non-numeric {kind} ({exc})") from exc


def _geometry(path: Path, columns: dict[str, object], what: str, *, hint: str) -> Geometry:
    """A Geometry from named columns (lower-case names -> values), PMTs merged into modules."""
    found = {axis: _first(columns, names) for axis, names in POSITION_NAMES.items()}
    missing = [axis for axis, name in found.items() if name is None]
    if missing:
        raise UsageError(f"{path}: geometry {what} lacks column(s) {', '.join(missing)} "
                         f"(columns: {', '.join(columns) or 'none'})", hint=hint)
    x, y, z = (_numbers(path, columns, name, "position") for name in found.values())  # type: ignore[arg-type]
    if len(x) == 0:
        raise UsageError(f"{path}: geometry {what} has no rows")
    if not (np.isfinite(x).all() and np.isfinite(y).all() and np.isfinite(z).all()):
        raise UsageError(f"{path}: geometry {what} holds non-finite positions")
    efficiency_name, area_name = _first(columns, EFFICIENCY_NAMES), _first(columns, ("pmt_area",))
    efficiency = _numbers(path, columns, efficiency_name, "efficiency") if efficiency_name else None
    area = _numbers(path, columns, area_name, "PMT area") if area_name else None
    string_name, dom_name = _first(columns, STRING_NAMES), _first(columns, DOM_NAMES)
    ids = None
    if string_name and dom_name:
        numbers = np.column_stack([_numbers(path, columns, string_name, "string number"),
                                   _numbers(path, columns, dom_name, "DOM number")])
        if not np.isfinite(numbers).all():
            raise UsageError(f"{path}: geometry {what} holds a missing string or DOM number")
        ids = numbers.astype(np.int64)
    geometry = Geometry(x, y, z, efficiency, source=str(path), ids=ids, pmt_area=area)
    if ids is None:
        return geometry
    surface = np.zeros(len(x), dtype=bool)
    if "dom_type" in columns:
        surface = np.isin(_numbers(path, columns, "dom_type", "DOM type"), SURFACE_DOM_TYPES)
    if surface.all():
        raise UsageError(f"{path}: geometry {what} holds surface modules only (IceTop, DOM types "
                         f"{', '.join(map(str, SURFACE_DOM_TYPES))}); GENESIS models in-ice DOMs")
    return _modules(geometry.select(np.flatnonzero(~surface)), left_out=int(surface.sum()))


def _modules(pmts: Geometry, *, left_out: int) -> Geometry:
    """One DOM per (string, DOM) number: PMTs of a module merged (mean position and rde, summed area)."""
    assert pmts.ids is not None
    keys = pmts.ids[:, 0] * MODULE_STRIDE + pmts.ids[:, 1]
    unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    if len(unique) == pmts.n_doms and not left_out:
        return pmts  # one row per DOM: the table's own order
    rank = np.empty(len(unique), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(unique))  # modules in order of first appearance
    inverse, first = rank[inverse.ravel()], np.sort(first)
    count = np.bincount(inverse).astype(np.float64)

    def mean(values: np.ndarray) -> np.ndarray:
        return np.bincount(inverse, weights=values) / count

    efficiency = None
    if pmts.efficiency is not None:
        known = np.isfinite(pmts.efficiency)
        n_known = np.bincount(inverse, weights=known.astype(np.float64))
        total = np.bincount(inverse, weights=np.where(known, pmts.efficiency, 0.0))
        efficiency = np.divide(total, n_known, out=np.full(len(unique), np.nan), where=n_known > 0)
    area = None if pmts.pmt_area is None else np.bincount(inverse, weights=pmts.pmt_area)
    notes = [f"{len(unique)} in-ice DOMs"]
    if len(unique) < pmts.n_doms:
        notes.append(f"{pmts.n_doms} PMTs merged into modules")
    if left_out:
        notes.append(f"{left_out} surface modules left out")
    return Geometry(mean(pmts.x), mean(pmts.y), mean(pmts.z), efficiency,
                    source=f"{pmts.source} ({', '.join(notes)})", ids=pmts.ids[first], pmt_area=area)
