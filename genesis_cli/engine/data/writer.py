"""Writing event files batch by batch, never leaving a half-written file under the final name.

Events stream into ``<name>.partial`` next to the destination (resizable, chunked datasets, so
memory stays bounded for any number of events), in SWMR mode so that readers can follow it safely. ``finish()`` flushes and renames it into place
atomically; ``abort()`` deletes it. ``finish()`` after an interruption keeps the events written so
far as a valid, smaller file (what ``genesis sample`` does on Ctrl-C).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import h5py
import numpy as np

from genesis_cli.engine.atomic_files import write_failure
from genesis_cli.engine.data.eventfile import (
    EVENT_IDS,
    LABEL_COLUMNS,
    LABEL_UNITS,
    RESPONSE_DATASETS,
    SIGNAL_CHANNELS,
    SIGNAL_UNITS,
)
from genesis_cli.engine.detector import Geometry
from genesis_cli.errors import GenesisError, UsageError
from genesis_cli.version import __version__

PARTIAL_SUFFIX = ".partial"
#: HDF5 format versions written: 1.10's, the oldest that supports SWMR, and never newer ones, so
#: that HDF5 1.10+ tools (Debian's h5ls/h5dump) and older h5py read every file. libver="latest"
#: wrote HDF5 2.0 layout messages that HDF5 1.14 and 1.10 refuse.
FORMAT_BOUNDS = ("v110", "v110")
#: Free space kept beyond a batch's raw size (HDF5 metadata, chunk overhead).
WRITE_MARGIN_BYTES = 2**20


def describe(handle: h5py.File, no_hit_time: float) -> None:
    """Attributes that make the file self-describing to any HDF5 tool: channel names and units of
    ``input`` with its no-hit convention, label column names and units, the geometry's unit."""
    signals = handle["input"]
    signals.attrs["axes"] = "event, channel, DOM"
    signals.attrs["channels"] = json.dumps(list(SIGNAL_CHANNELS))
    signals.attrs["units"] = json.dumps(list(SIGNAL_UNITS))
    signals.attrs["no_hit"] = f"npe 0 and time {no_hit_time:g} ns"
    signals.attrs["no_hit_time"] = float(no_hit_time)
    handle["label"].attrs["columns"] = json.dumps(list(LABEL_COLUMNS))
    handle["label"].attrs["units"] = json.dumps(list(LABEL_UNITS))
    for name in ("xpmt", "ypmt", "zpmt"):
        handle[name].attrs["unit"] = "m"


def beside(path: Path, tag: str) -> Path:
    """A free name next to ``path``: ``gen.h5`` -> ``gen.interrupted.h5`` (then ``gen.interrupted.2.h5``, ...)."""
    candidate, n = path.with_name(f"{path.stem}.{tag}{path.suffix}"), 2
    while candidate.exists():
        candidate, n = path.with_name(f"{path.stem}.{tag}.{n}{path.suffix}"), n + 1
    return candidate


@dataclass(frozen=True)
class WrittenEvents:
    """What a command that writes events produced (simulate, sample, convert): where, how many, how fast."""

    path: Path
    events: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / max(self.seconds, 1e-9)


class EventWriter:
    """Append events to a new GENESIS event file.

    Args:
        path: destination; refused if it exists unless ``overwrite``.
        geometry: the detector, written once as xpmt/ypmt/zpmt (and its known rde and pmt_area, at finish).
        info_columns: names of the optional per-event ``info`` columns (None: no info dataset).
        id_columns: names of the ``event_ids`` columns (None: no ids), e.g. ("event_no", "RunID").
        chunk_events: events per HDF5 chunk (whole chunks are what readers read fast).
        compression: "gzip", "lzf" or "none".
        attrs: file attributes (provenance); non-scalar values are stored as JSON text.
        no_hit_time: the time written for DOMs without a hit (inf in raw files), recorded on ``input``.
    """

    def __init__(self, path: Path, geometry: Geometry, *, info_columns: tuple[str, ...] | None = None,
                 id_columns: tuple[str, ...] | None = None, chunk_events: int = 32, compression: str = "gzip", attrs: dict[str, Any] | None = None,
                 overwrite: bool = False, no_hit_time: float = float("inf")) -> None:
        self.path = Path(path)
        if self.path.exists() and not overwrite:
            raise UsageError(f"{self.path}: already exists", hint="choose another name or pass --overwrite")
        if not self.path.parent.exists():
            raise UsageError(f"{self.path.parent}: output directory does not exist")
        self.partial = self.path.with_name(self.path.name + PARTIAL_SUFFIX)
        self.n_doms = geometry.n_doms
        self.count = 0
        #: per-DOM values written at finish (set_response may change them until then)
        self.response = {name: getattr(geometry, field) for name, field in RESPONSE_DATASETS.items()
                          if getattr(geometry, field) is not None}
        filters: dict[str, Any] = {}
        if compression == "gzip":
            filters = {"compression": "gzip", "compression_opts": 4, "shuffle": True}
        elif compression == "lzf":
            filters = {"compression": "lzf", "shuffle": True}
        try:
            self._file = h5py.File(self.partial, "w", libver=FORMAT_BOUNDS)
        except OSError as exc:
            raise UsageError(f"{self.partial}: cannot create ({exc.strerror or exc})") from exc
        f = self._file
        f.create_dataset("input", shape=(0, 2, self.n_doms), maxshape=(None, 2, self.n_doms),
                         dtype=np.float32, chunks=(chunk_events, 2, self.n_doms), **filters)
        f.create_dataset("label", shape=(0, 6), maxshape=(None, 6), dtype=np.float32,
                         chunks=(max(chunk_events, 1024), 6), **filters)
        for name, values in zip(("xpmt", "ypmt", "zpmt"), (geometry.x, geometry.y, geometry.z)):
            f.create_dataset(name, data=values.astype(np.float32))
        describe(f, no_hit_time)
        if info_columns is not None:
            f.create_dataset("info", shape=(0, len(info_columns)), maxshape=(None, len(info_columns)),
                             dtype=np.float32, chunks=(max(chunk_events, 1024), len(info_columns)), **filters)
            f["info"].attrs["columns"] = json.dumps(list(info_columns))
        if id_columns:
            f.create_dataset(EVENT_IDS, shape=(0, len(id_columns)), maxshape=(None, len(id_columns)), dtype=np.int64,
                             chunks=(max(chunk_events, 1024), len(id_columns)), **filters)
            f[EVENT_IDS].attrs["columns"] = json.dumps(list(id_columns))
        f.attrs["genesis_version"] = __version__
        f.attrs["label_columns"] = json.dumps(["energy_gev", "zenith_rad", "azimuth_rad", "x_m", "y_m", "z_m"])
        for key, value in (attrs or {}).items():
            f.attrs[key] = value if isinstance(value, (str, int, float, bool)) else json.dumps(value)
        f.swmr_mode = True  # readers (inspect-data, evaluate) may follow the file while it grows

    def set_response(self, name: str, values: np.ndarray) -> None:
        """Per-DOM ``rde`` or ``pmt_area`` (L,) to write at finish (e.g. what a converted file's pulses carried)."""
        if name not in RESPONSE_DATASETS or np.shape(values) != (self.n_doms,):
            raise ValueError(f"expected rde or pmt_area of shape ({self.n_doms},), got {name} {np.shape(values)}")
        self.response[name] = np.asarray(values, dtype=np.float64)

    def append(self, signals: np.ndarray, labels: np.ndarray, info: np.ndarray | None = None,
               ids: np.ndarray | None = None) -> None:
        """Add events: signals (B, 2, L), labels (B, 6), info (B, K) when the file has info, ids (B, K) when it has ids."""
        n = signals.shape[0]
        if signals.shape[1:] != (2, self.n_doms) or labels.shape != (n, 6):
            raise ValueError(f"expected signals (B, 2, {self.n_doms}) and labels (B, 6), got "
                             f"{signals.shape} and {labels.shape}")
        start, stop = self.count, self.count + n
        if (ids is None) != (EVENT_IDS not in self._file) or (ids is not None and len(ids) != n):
            raise ValueError(f"event ids must be given exactly when the file has them, one row per event ({n})")
        needed = (signals.nbytes + labels.nbytes + sum(v.nbytes for v in (info, ids) if v is not None)
                  + WRITE_MARGIN_BYTES)
        free = shutil.disk_usage(self.partial.parent).free
        if free < needed:  # stop cleanly before the disk fills: HDF5 does not recover from a failed write
            self._fail(OSError(errno.ENOSPC, f"no space left on the device: {free / 2**20:.1f} MiB free, "
                                             f"{needed / 2**20:.1f} MiB needed for the next batch"))
        try:
            for name, values in (("input", signals), ("label", labels), ("info", info), (EVENT_IDS, ids)):
                if values is None or name not in self._file:
                    continue
                dataset = self._file[name]
                dataset.resize(stop, axis=0)
                dataset[start:stop] = values
            self._file.flush()
        except (OSError, RuntimeError) as exc:  # h5py reports a full disk as either
            self._fail(exc)
        self.count = stop

    def _fail(self, exc: BaseException) -> NoReturn:
        """Remove the partial file and raise one line naming the destination."""
        self.abort()
        raise GenesisError(f"{self.path}: write failed ({write_failure(exc, self.path.parent)}); nothing was written",
                           hint="free disk space or choose another place") from exc

    def finish(self, *, keep_existing: bool = False, **final_attrs: Any) -> Path:
        """Close and move the file into place; returns the path it now has.

        ``keep_existing`` (an incomplete file, e.g. after an interruption): an existing file at the
        destination is not replaced; the new file goes beside it as ``NAME.interrupted.h5``.
        SWMR forbids new attributes and datasets, so the final ones (and rde, pmt_area) are written
        after reopening normally.
        """
        try:
            self._file.close()
            if final_attrs or self.response:
                with h5py.File(self.partial, "a") as handle:
                    for key, value in final_attrs.items():
                        handle.attrs[key] = value
                    for name, values in self.response.items():
                        handle.create_dataset(name, data=values.astype(np.float64))
                    if "rde" in self.response:
                        handle["rde"].attrs["meaning"] = "relative quantum efficiency per DOM (1: standard IceCube DOM)"
                    if "pmt_area" in self.response:
                        handle["pmt_area"].attrs["unit"] = "m^2"
        except (OSError, RuntimeError) as exc:
            self._fail(exc)
        target = beside(self.path, "interrupted") if keep_existing and self.path.exists() else self.path
        os.replace(self.partial, target)
        return target

    def abort(self) -> None:
        """Close and delete the partial file. Its contents are dropped first, so that closing (which
        flushes HDF5's metadata) cannot fail again on a full disk, where HDF5 crashes the process."""
        try:
            if self._file.id.valid:
                os.truncate(self.partial, 0)
                self._file.close()
        except (OSError, RuntimeError):
            pass
        finally:
            self.partial.unlink(missing_ok=True)

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        """On an exception the partial file is deleted; call finish() explicitly on success."""
        if self._file.id.valid:
            self.abort()
