"""Prometheus simulation output (one Parquet file) -> GENESIS event files.

Prometheus (Lazar et al., arXiv 2304.14526) writes one row per event with two struct columns, as
GraphNeT's PrometheusExtractor reads them: ``mc_truth`` (``initial_state_energy``,
``initial_state_zenith``, ``initial_state_azimuth``, ``initial_state_x/y/z``, ...) and ``photons``
(lists per event: ``sensor_pos_x/y/z``, ``t``, ``string_id``, ``sensor_id``, ...). Each photon that
reaches a sensor counts one photoelectron: npe = photons per sensor, the time is the earliest
photon's. Events are read in row batches, so memory stays bounded.

Two conventions differ from GENESIS's, and are converted:
- **Frame.** Prometheus' IceCube geometry puts the ice surface at z = 0, so its detector sits
  1948.07 m lower than IceCube's frame (depth = 1948.07 m - z, shared/notes/physics.md). The shift
  that puts the file's sensors on the geometry's DOMs (0 or +1948.07 m) is found from the first
  photons, or given (``z_offset``); sensor and vertex z are shifted by it.
- **Direction.** ``initial_state_zenith/azimuth`` give the direction the neutrino travels;
  GENESIS's labels give where it comes from: zenith -> pi - zenith, azimuth -> azimuth + pi,
  wrapped to [0, 2 pi).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from genesis_cli.engine.convert.matching import DomMatcher
from genesis_cli.engine.convert.pulses import ConversionSummary, PulseBlock, pulses_to_file
from genesis_cli.engine.convert.source_files import parquet_reading
from genesis_cli.engine.data.eventfile import LABEL_COLUMNS
from genesis_cli.engine.detector import Geometry
from genesis_cli.engine.extras import require_pyarrow
from genesis_cli.errors import DataError

#: GENESIS label -> field of Prometheus' mc_truth; overridable per label.
PROMETHEUS_LABELS = {"energy": "initial_state_energy", "zenith": "initial_state_zenith",
                     "azimuth": "initial_state_azimuth", "x": "initial_state_x", "y": "initial_state_y",
                     "z": "initial_state_z"}
PHOTON_FIELDS = ("sensor_pos_x", "sensor_pos_y", "sensor_pos_z", "t")
BLOCK_EVENTS = 64  # photon tables are ~100x denser than pulse maps: about 1 M photons per block
#: Prometheus' IceCube frame has its origin at the ice surface: IceCube's origin is 1948.07 m deep.
PROMETHEUS_Z_OFFSET_M = 1948.07
FRAME_SAMPLE = 2000  # photons looked at to find the frame
PROMETHEUS_DIRECTION = "converted from Prometheus' direction of travel"


def source_direction(zenith: np.ndarray, azimuth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where a particle comes from, given the direction it travels (radians): (pi - zenith, azimuth + pi)
    with the azimuth wrapped to [0, 2 pi)."""
    return np.pi - zenith, np.mod(azimuth + np.pi, 2 * np.pi)


def first_photons(path: Path) -> np.ndarray:
    """(<= FRAME_SAMPLE, 3) positions of the file's first photons (to find its frame)."""
    parquet = require_pyarrow()
    import pyarrow.compute as pc

    positions: list[np.ndarray] = []
    with parquet_reading(path):
        for batch in parquet.ParquetFile(path).iter_batches(batch_size=BLOCK_EVENTS, columns=["photons"]):
            photons = batch.column("photons")
            positions.append(np.column_stack([np.asarray(pc.list_flatten(photons.field(name)), dtype=np.float64)
                                              for name in PHOTON_FIELDS[:3]]))
            if sum(len(p) for p in positions) >= FRAME_SAMPLE:
                break
    return np.concatenate(positions)[:FRAME_SAMPLE] if positions else np.empty((0, 3))


def frame_offset(sample: np.ndarray, geometry: Geometry, tolerance_m: float, source: str) -> float:
    """The z shift (0 or +1948.07 m) under which photon positions ``sample`` (P, 3) sit on the geometry's DOMs."""
    if len(sample) == 0:
        return 0.0
    sample = np.unique(sample, axis=0)  # photons sit on sensors: a few hundred positions, not thousands
    doms = geometry.positions.T  # (L, 3)

    def on_doms(shift: float) -> float:
        moved = sample + (0.0, 0.0, shift)
        nearest = np.min(((moved[:, None, :] - doms[None]) ** 2).sum(-1), axis=1)
        return float((nearest <= tolerance_m ** 2).mean())

    shares = {shift: on_doms(shift) for shift in (0.0, PROMETHEUS_Z_OFFSET_M)}
    best = max(shares, key=shares.__getitem__)
    if shares[best] < 0.5:
        raise DataError(f"{source}: its sensors sit on no DOM of {geometry.source} (in IceCube's frame: "
                        f"{shares[0.0]:.0%} of the first photons; {PROMETHEUS_Z_OFFSET_M} m higher, as Prometheus "
                        f"places IceCube: {shares[PROMETHEUS_Z_OFFSET_M]:.0%})",
                        hint="pass the detector with --geometry FILE, or the shift into its frame with --z-offset METRES")
    return best


def to_genesis_frame(block: PulseBlock, z_offset: float) -> PulseBlock:
    """A block of Prometheus photons in GENESIS's conventions: labels give where the particle comes from
    (source_direction), and sensor and vertex z are shifted by ``z_offset`` into the geometry's frame."""
    labels, pulses = block.labels.copy(), block.pulses.copy()
    labels[:, 1], labels[:, 2] = source_direction(labels[:, 1], labels[:, 2])
    labels[:, 5] += z_offset
    pulses[:, 3] += z_offset
    return PulseBlock(block.events, labels, pulses, block.ids)


def in_genesis_frame(blocks: Iterable[PulseBlock], first: Callable[[], np.ndarray], source: Path, geometry: Geometry,
                     tolerance_m: float, z_offset: float | None, attrs: dict[str, Any],
                     on_message: Callable[[str], None] | None = None) -> Iterator[PulseBlock]:
    """Blocks of Prometheus photons (its files, or GraphNeT's tables of them) in GENESIS's frame and direction
    convention (to_genesis_frame). ``z_offset`` None: found now from ``first()`` (the first photons' (P, 3)
    positions, frame_offset), and told to ``on_message`` when not 0. The shift and convention go into ``attrs``."""
    if z_offset is None:
        z_offset = frame_offset(first(), geometry, tolerance_m, str(source))
        if z_offset and on_message is not None:
            on_message(f"{source.name}: sensors sit {z_offset} m below {geometry.source} (Prometheus' frame, origin "
                       f"at the ice surface); z shifted by +{z_offset} m (--z-offset to set it)")
    attrs.update(z_offset_m=z_offset, direction=PROMETHEUS_DIRECTION)
    return (to_genesis_frame(block, z_offset) for block in blocks)


def _fields(column: object, wanted: tuple[str, ...] | list[str], what: str, path: Path) -> None:
    names = [column.type.field(i).name for i in range(column.type.num_fields)]  # type: ignore[attr-defined]
    missing = [name for name in wanted if name not in names]
    if missing:
        raise DataError(f"{path}: {what} lacks field {missing[0]!r} (fields: {', '.join(names)})",
                        hint="map labels to other mc_truth fields with --label NAME=FIELD")


def prometheus_blocks(path: Path, label_fields: list[str]) -> Iterator[PulseBlock]:
    """Blocks of a Prometheus file as it stands (in_genesis_frame converts them): event numbers (the row in
    the file: Prometheus numbers no events), labels (label_fields in LABEL_COLUMNS order) and one pulse of
    charge 1 per photon. The caller checks the columns (_check_columns)."""
    parquet = require_pyarrow()
    import pyarrow.compute as pc

    with parquet_reading(path):
        yield from _prometheus_batches(parquet.ParquetFile(path), path, label_fields, pc)


def _prometheus_batches(handle: Any, path: Path, label_fields: list[str], pc: Any) -> Iterator[PulseBlock]:
    first = 0
    for batch in handle.iter_batches(batch_size=BLOCK_EVENTS, columns=["mc_truth", "photons"]):
        truth, photons = batch.column("mc_truth"), batch.column("photons")
        _fields(truth, label_fields, "mc_truth", path)
        _fields(photons, PHOTON_FIELDS, "photons", path)
        labels = np.column_stack([np.asarray(truth.field(name).to_numpy(zero_copy_only=False), dtype=np.float64)
                                  for name in label_fields])
        events = np.arange(first, first + len(batch))
        lengths = np.asarray(pc.list_value_length(photons.field("t")).fill_null(0), dtype=np.int64)
        owner = np.repeat(events, lengths)
        values = [np.asarray(pc.list_flatten(photons.field(name)), dtype=np.float64) for name in PHOTON_FIELDS]
        pulses = np.column_stack([owner, *values, np.ones(len(owner))])  # event_no, x, y, z, t, charge 1
        first += len(batch)
        yield PulseBlock.of(events, labels, pulses)


def convert_prometheus(path: Path, out: Path, geometry: Geometry, *, labels: dict[str, str] | None = None,
                       tolerance_m: float = 1.0, z_offset: float | None = None, overwrite: bool = False,
                       progress: Callable[[int], None] | None = None,
                       on_message: Callable[[str], None] | None = None) -> ConversionSummary:
    """Convert a Prometheus Parquet file into a GENESIS event file (all or nothing). ``z_offset`` (None:
    found from the photons) shifts sensor and vertex z into the geometry's frame (in_genesis_frame)."""
    mapping = {**PROMETHEUS_LABELS, **(labels or {})}
    fields = [mapping[name] for name in LABEL_COLUMNS]
    _check_columns(path)
    attrs: dict[str, Any] = {"generator": "genesis convert", "source": str(path), "source_format": "prometheus-parquet",
                             "geometry_source": geometry.source, "label_columns_source": dict(zip(LABEL_COLUMNS, fields)),
                             "event_no_source": "the event's row in the source file"}
    blocks = in_genesis_frame(prometheus_blocks(path, fields), lambda: first_photons(path), path, geometry,
                              tolerance_m, z_offset, attrs, on_message)
    matcher = DomMatcher(geometry, tolerance_m, str(path))
    return pulses_to_file(blocks, out, geometry, matcher, attrs, overwrite=overwrite, progress=progress)


def _check_columns(path: Path) -> None:
    parquet = require_pyarrow()
    with parquet_reading(path):
        columns = parquet.ParquetFile(path).schema_arrow.names
    if "mc_truth" not in columns or "photons" not in columns:
        raise DataError(f"{path}: not a Prometheus file (columns: {', '.join(columns)}; expected mc_truth and photons)")
