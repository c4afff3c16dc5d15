"""Prometheus simulation output (one Parquet file) -> GENESIS event files.

Prometheus (Lazar et al., arXiv 2304.14526) writes one row per event with two struct columns, as
GraphNeT's PrometheusExtractor reads them: ``mc_truth`` (``initial_state_energy``,
``initial_state_zenith``, ``initial_state_azimuth``, ``initial_state_x/y/z``, ...) and ``photons``
(lists per event: ``sensor_pos_x/y/z``, ``t``, ``string_id``, ``sensor_id``, ...). Each photon that
reaches a sensor counts one photoelectron: npe = photons per sensor, the time is the earliest
photon's. Events are read in row batches, so memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from genesis_cli.engine.convert.graphnet_parquet import require_pyarrow
from genesis_cli.engine.convert.matching import DomMatcher
from genesis_cli.engine.convert.pulses import Block, ConversionSummary, pulses_to_file
from genesis_cli.engine.data.eventfile import LABEL_COLUMNS
from genesis_cli.engine.detector import Geometry
from genesis_cli.errors import DataError

#: GENESIS label -> field of Prometheus' mc_truth; overridable per label.
PROMETHEUS_LABELS = {"energy": "initial_state_energy", "zenith": "initial_state_zenith",
                     "azimuth": "initial_state_azimuth", "x": "initial_state_x", "y": "initial_state_y",
                     "z": "initial_state_z"}
PHOTON_FIELDS = ("sensor_pos_x", "sensor_pos_y", "sensor_pos_z", "t")
BLOCK_EVENTS = 64  # photon tables are ~100x denser than pulse maps: about 1 M photons per block


def _fields(column: object, wanted: tuple[str, ...] | list[str], what: str, path: Path) -> None:
    names = [column.type.field(i).name for i in range(column.type.num_fields)]  # type: ignore[attr-defined]
    missing = [name for name in wanted if name not in names]
    if missing:
        raise DataError(f"{path}: {what} lacks field {missing[0]!r} (fields: {', '.join(names)})",
                        hint="map labels to other mc_truth fields with --label NAME=FIELD")


def prometheus_blocks(path: Path, label_fields: list[str]) -> Iterator[Block]:
    """Blocks of a Prometheus file: event numbers, labels, and one pulse of charge 1 per photon."""
    parquet = require_pyarrow()
    import pyarrow.compute as pc

    try:
        handle = parquet.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for non-Parquet files
        raise DataError(f"{path}: not a readable Parquet file ({type(exc).__name__})") from exc
    columns = handle.schema_arrow.names
    if "mc_truth" not in columns or "photons" not in columns:
        raise DataError(f"{path}: not a Prometheus file (columns: {', '.join(columns)}; expected mc_truth and photons)")
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
        yield events, labels, pulses


def convert_prometheus(path: Path, out: Path, geometry: Geometry, *, labels: dict[str, str] | None = None,
                       tolerance_m: float = 1.0, overwrite: bool = False,
                       progress: Callable[[int], None] | None = None) -> ConversionSummary:
    """Convert a Prometheus Parquet file into a GENESIS event file (all or nothing)."""
    mapping = {**PROMETHEUS_LABELS, **(labels or {})}
    fields = [mapping[name] for name in LABEL_COLUMNS]
    attrs = {"generator": "genesis convert", "source": str(path), "source_format": "prometheus-parquet",
             "geometry_source": geometry.source, "label_columns_source": dict(zip(LABEL_COLUMNS, fields))}
    matcher = DomMatcher(geometry, tolerance_m, str(path))
    return pulses_to_file(prometheus_blocks(path, fields), out, geometry, matcher, attrs, overwrite=overwrite,
                          progress=progress)
