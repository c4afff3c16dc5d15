"""Reading and validating GENESIS event files (HDF5).

Format (the training guide's "Data Format Requirements"):

    input  (N, 2, L)  per DOM [npe, first-hit time in ns]; no hit: npe 0, time inf (raw files)
    label  (N, 6)     [Energy GeV, Zenith rad, Azimuth rad, X m, Y m, Z m]
    xpmt, ypmt, zpmt (L,)  DOM positions in metres
    info   (N, K)     optional extra per-event columns (K = 9 in the original files)
    event_ids (N, K)  optional int64 identities from the source (columns attribute: event_no, and
                      RunID, SubrunID, EventID, SubEventID where the source has them)
    rde, pmt_area (L,) optional per DOM: relative quantum efficiency, photocathode area in m^2

L comes from the file, so detectors other than IceCube (L = 5160) work too. Files are opened
read-only without HDF5 file locking, and with SWMR when another process is still writing them (e.g.
a running ``genesis sample``), so such a file can be read while a truncated one fails in milliseconds.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from genesis_cli.engine.detector import Geometry
from genesis_cli.errors import DataError

LABEL_COLUMNS = ("energy", "zenith", "azimuth", "x", "y", "z")
LABEL_UNITS = ("GeV", "rad", "rad", "m", "m", "m")
SIGNAL_CHANNELS = ("npe", "time")
SIGNAL_UNITS = ("PE", "ns")
GEOMETRY_DATASETS = ("xpmt", "ypmt", "zpmt")
REQUIRED_DATASETS = ("input", "label", *GEOMETRY_DATASETS)
EVENT_IDS = "event_ids"
#: Optional per-DOM datasets -> the Geometry field each fills.
RESPONSE_DATASETS = {"rde": "efficiency", "pmt_area": "pmt_area"}
FORMAT_HINT = "GENESIS reads HDF5 files with input (N,2,L), label (N,6) and xpmt/ypmt/zpmt (L,)"


@dataclass(frozen=True)
class DatasetInfo:
    """How one dataset is stored, for reports."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    chunks: tuple[int, ...] | None
    compression: str | None


@dataclass(frozen=True)
class EventIds:
    """Where events came from: ``values`` (N, K) int64, column k named ``columns[k]`` (first ``event_no``,
    the source's event number; then RunID, SubrunID, EventID, SubEventID where the source has them)."""

    columns: tuple[str, ...]
    values: np.ndarray

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.int64)
        if values.ndim != 2 or values.shape[1] != len(self.columns):
            raise ValueError(f"expected ids (N, {len(self.columns)}), got {values.shape}")
        object.__setattr__(self, "values", values)

    def __len__(self) -> int:
        return len(self.values)

    def take(self, rows: np.ndarray | slice) -> EventIds:
        return EventIds(self.columns, self.values[rows])

    def column(self, name: str) -> np.ndarray | None:
        """(N,) values of column ``name``, or None when the source did not give it."""
        return self.values[:, self.columns.index(name)] if name in self.columns else None


def open_h5(path: Path) -> h5py.File:
    """Open an HDF5 file read-only, tolerant of a concurrent writer; DataError when impossible."""
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not an HDF5 file")
    if not h5py.is_hdf5(path):
        size = path.stat().st_size
        problem = "is empty" if size == 0 else "is not an HDF5 file"
        raise DataError(f"{path}: {problem}", hint=FORMAT_HINT)
    try:
        try:
            # A plain open first: HDF5 checks the file's end against its superblock and refuses a
            # truncated file at once, where a SWMR open retries its metadata reads for many minutes.
            return h5py.File(path, "r", locking=False)
        except OSError as exc:
            if "already open for write" not in str(exc):
                raise
            return h5py.File(path, "r", swmr=True, locking=False)  # a file still being written (SWMR)
    except OSError as exc:
        raise DataError(f"{path}: cannot be opened; the file is truncated or corrupt ({_short(exc)})",
                        hint="re-copy or regenerate the file") from exc


def _short(exc: BaseException) -> str:
    text = str(exc).split("(", 1)[-1].rstrip(")") if "(" in str(exc) else str(exc)
    return text.split(",")[0].strip()


#: What a file written by an interrupted ``genesis sample`` is (its ``interrupted`` attribute is true).
INTERRUPTED_NOTE = "written by an interrupted `genesis sample`: it holds only the events generated before the interruption"


class EventFile:
    """A validated, read-only event file.

    Structure is checked on opening (datasets, ranks, shapes, dtypes, lengths, geometry values);
    per-event values are checked where they are read (see :func:`check_signals`,
    :func:`check_labels`). Safe to pickle into data-loader workers: each process reopens its own
    handle.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._file: h5py.File | None = None
        handle = self._handle()
        self.n_events, self.n_doms = _validate_structure(self.path, handle)
        self.has_info = "info" in handle
        self.id_columns: tuple[str, ...] = _id_columns(self.path, handle)
        response = {field: handle[name][()] for name, field in RESPONSE_DATASETS.items() if name in handle}
        self.geometry = Geometry(*(handle[name][()] for name in GEOMETRY_DATASETS), source=str(self.path), **response)
        for axis, values in zip("xyz", (self.geometry.x, self.geometry.y, self.geometry.z)):
            bad = int((~np.isfinite(values)).sum())
            if bad:
                raise DataError(f"{self.path}: dataset '{axis}pmt' holds {bad} non-finite DOM position(s)",
                                hint="every DOM needs a finite position in metres")
        chunks = handle["input"].chunks
        self.chunk_events: int | None = int(chunks[0]) if chunks else None
        self._check_complete(handle)

    def _check_complete(self, handle: h5py.File) -> None:
        """Read the last row of every per-event dataset: a truncated file (its end cut off in a copy)
        opens fine, in SWMR mode without HDF5's own end-of-file check, but fails here, not hours later."""
        for name in ("input", "label", *(("info",) if self.has_info else ()), *((EVENT_IDS,) if self.id_columns else ())):
            self.read(name, self.n_events - 1, self.n_events)

    # -- handles --------------------------------------------------------------------------------
    def _handle(self) -> h5py.File:
        if self._file is None or not self._file.id.valid:
            self._file = open_h5(self.path)
        return self._file

    def close(self) -> None:
        if self._file is not None and self._file.id.valid:
            self._file.close()
        self._file = None

    def __enter__(self) -> EventFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_file"] = None  # h5py handles do not cross processes; workers reopen
        return state

    # -- reading --------------------------------------------------------------------------------
    def read(self, dataset: str, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) of a dataset as stored (one contiguous read)."""
        try:
            return self._handle()[dataset][start:stop]
        except (OSError, RuntimeError) as exc:
            raise DataError(f"{self.path}: cannot read '{dataset}' events {start}..{stop - 1}; the "
                            f"file is truncated or corrupt ({_short(exc)})",
                            hint="re-copy or regenerate the file") from exc

    def signals(self, start: int, stop: int) -> np.ndarray:
        """(n, 2, L) float32 [npe, time] for events [start, stop)."""
        return np.asarray(self.read("input", start, stop), dtype=np.float32)

    def labels(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """(n, 6) float64 labels for events [start, stop)."""
        return np.asarray(self.read("label", start, self.n_events if stop is None else stop),
                          dtype=np.float64)

    def ids(self, start: int = 0, stop: int | None = None) -> EventIds | None:
        """The source identities of events [start, stop), or None when the file holds none."""
        if not self.id_columns:
            return None
        return EventIds(self.id_columns, self.read(EVENT_IDS, start, self.n_events if stop is None else stop))

    def dataset_info(self) -> list[DatasetInfo]:
        """Storage details of every dataset in the file (for inspect-data)."""
        infos: list[DatasetInfo] = []

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset):
                infos.append(DatasetInfo(name, tuple(obj.shape), str(obj.dtype), obj.chunks,
                                         obj.compression))

        self._handle().visititems(visit)
        return infos

    def attributes(self) -> dict[str, Any]:
        """File-level attributes (provenance written by simulate/sample), as plain values."""
        return {k: (v.item() if isinstance(v, np.generic) else v)
                for k, v in self._handle().attrs.items()}

    @property
    def interrupted(self) -> bool:
        """Whether the file was written by an interrupted ``genesis sample`` (fewer events than asked for)."""
        return bool(self._handle().attrs.get("interrupted", False))

    def reading_block(self) -> int:
        """Events per efficient contiguous read: whole chunks, at least ~8 MB per read."""
        per_event = 2 * self.n_doms * 4
        target = max(1, (8 << 20) // per_event)
        chunk = self.chunk_events or 1
        return max(chunk, (target // chunk) * chunk)


def _validate_structure(path: Path, handle: h5py.File) -> tuple[int, int]:
    """Check datasets, ranks, shapes and dtypes; return (N, L)."""
    missing = [name for name in REQUIRED_DATASETS if name not in handle]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise DataError(f"{path}: missing dataset{plural} {', '.join(repr(m) for m in missing)}",
                        hint=FORMAT_HINT)
    for name in (*REQUIRED_DATASETS, *(("info",) if "info" in handle else ())):
        node = handle[name]
        if not isinstance(node, h5py.Dataset):
            raise DataError(f"{path}: '{name}' is a group, not a dataset", hint=FORMAT_HINT)
        if node.dtype.kind not in "fiu":
            raise DataError(f"{path}: dataset '{name}' has dtype {node.dtype}; expected numbers",
                            hint="store float32 (or any integer/float type)")

    signal = handle["input"]
    shape = tuple(signal.shape)
    if len(shape) != 3:
        raise DataError(f"{path}: dataset 'input' has shape {shape}; expected (N, 2, L)",
                        hint="input holds per event and DOM [npe, time]: shape (N, 2, L)")
    n, channels, n_doms = shape
    if channels != 2:
        if n_doms == 2:
            raise DataError(f"{path}: dataset 'input' has shape {shape}; expected (N, 2, L) — the last "
                            "two axes are swapped", hint="transpose it: input = input.transpose(0, 2, 1)")
        raise DataError(f"{path}: dataset 'input' has shape {shape}; expected (N, 2, L) with 2 "
                        "channels [npe, time]")
    if n == 0:
        raise DataError(f"{path}: holds no events (input has N = 0)", hint="point to a file with events")

    label = tuple(handle["label"].shape)
    if len(label) != 2 or label[1] != 6:
        swapped = len(label) == 2 and label[0] == 6 and label[1] != 6
        raise DataError(f"{path}: dataset 'label' has shape {label}; expected (N, 6)"
                        + (" — the axes are swapped" if swapped else ""),
                        hint="label columns: Energy GeV, Zenith rad, Azimuth rad, X m, Y m, Z m")
    if label[0] != n:
        raise DataError(f"{path}: 'input' holds {n} events but 'label' holds {label[0]}",
                        hint="input and label need one row per event, in the same order")
    for name in GEOMETRY_DATASETS:
        geo = tuple(handle[name].shape)
        if len(geo) != 1 or geo[0] != n_doms:
            raise DataError(f"{path}: dataset '{name}' has shape {geo}; expected ({n_doms},), one "
                            f"position per DOM of input's L = {n_doms}")
    for name in ("info", EVENT_IDS):
        if name in handle:
            shape = tuple(handle[name].shape)
            if len(shape) != 2 or shape[0] != n:
                raise DataError(f"{path}: dataset '{name}' has shape {shape}; expected ({n}, K), one row per event")
    for name in RESPONSE_DATASETS:
        if name in handle:
            node = handle[name]
            if not isinstance(node, h5py.Dataset) or tuple(node.shape) != (n_doms,) or node.dtype.kind not in "fiu":
                raise DataError(f"{path}: dataset '{name}' must hold one number per DOM, shape ({n_doms},)",
                                hint=f"drop '{name}' or store one value per DOM")
    return n, n_doms


def _id_columns(path: Path, handle: h5py.File) -> tuple[str, ...]:
    """The names of the event_ids columns (none when the file has no event_ids)."""
    if EVENT_IDS not in handle:
        return ()
    node = handle[EVENT_IDS]
    try:
        columns = tuple(json.loads(node.attrs.get("columns", "null")) or ())
    except (TypeError, ValueError):
        columns = ()
    if node.dtype.kind not in "iu" or len(columns) != node.shape[1] or not all(isinstance(c, str) for c in columns):
        raise DataError(f"{path}: dataset '{EVENT_IDS}' must hold integers with a 'columns' attribute naming each column",
                        hint=f"drop '{EVENT_IDS}' or write it as genesis convert does")
    return columns


def check_signals(path: Path, signals: np.ndarray, first_event: int) -> None:
    """Raise DataError on values no detector can record: negative or non-finite npe."""
    npe = signals[:, 0]
    bad = ~((npe >= 0) & np.isfinite(npe))  # NaN and +inf too (inf >= 0 holds)
    if bad.any():
        event = first_event + int(np.argwhere(bad)[0][0])
        value = float(npe[bad][0])
        raise DataError(f"{path}: dataset 'input' has npe {value} (event {event}); npe must be finite "
                        "and >= 0", hint="fix or drop the affected events")


def check_labels(path: Path, labels: np.ndarray, events: np.ndarray | None = None) -> None:
    """Raise DataError on non-finite labels or non-positive energies; ``events`` are the file's event
    indices of the rows (default 0..n-1), so the message names the event as the file numbers it."""
    index = events if events is not None else np.arange(len(labels))
    finite = np.isfinite(labels)
    if not finite.all():
        row, col = np.argwhere(~finite)[0]
        raise DataError(f"{path}: dataset 'label' has a non-finite {LABEL_COLUMNS[col]} "
                        f"({labels[row, col]}) at event {int(index[row])}",
                        hint="every event needs finite labels")
    if (labels[:, 0] <= 0).any():
        row = int(np.argwhere(labels[:, 0] <= 0)[0][0])
        raise DataError(f"{path}: dataset 'label' has energy {labels[row, 0]} GeV at event "
                        f"{int(index[row])}; energies must be > 0", hint="energies are in GeV, linear")
