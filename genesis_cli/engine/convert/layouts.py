"""How GraphNeT's tables name things: the column and table names every GraphNeT route reads.

GraphNeT writes two kinds of table sets that GENESIS reads (SQLite or Parquet alike):

- **IceCube pulse maps** (``DataConverter`` with ``I3FeatureExtractor``): a ``truth`` table
  (``TRUTH.ICECUBE86``: energy, position_x/y/z, azimuth, zenith, ...) and one table per pulse map
  (``FEATURES.ICECUBE86``: dom_x, dom_y, dom_z, dom_time, charge, rde, pmt_area), keyed by ``event_no``.
- **Prometheus photons** (``PrometheusTruthExtractor`` / ``PrometheusFeatureExtractor``, written as
  ``mc_truth`` and a photon table, ``total`` in GraphNeT's examples): truth ``injection_energy,
  injection_zenith, injection_azimuth, injection_position_x/y/z``; photons ``sensor_pos_x/y/z, t``,
  one row per photon and no charge. These carry Prometheus' conventions (direction of travel, its
  frame), converted as for Prometheus' own files (prometheus.py).

The layout is told by the truth table present: ``truth``, else ``mc_truth``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: GENESIS label -> GraphNeT truth column (TRUTH.ICECUBE86 names); overridable per label.
GRAPHNET_LABELS = {"energy": "energy", "zenith": "zenith", "azimuth": "azimuth", "x": "position_x",
                   "y": "position_y", "z": "position_z"}
PULSE_COLUMNS = ("dom_x", "dom_y", "dom_z", "dom_time", "charge")
#: Matching by IceCube numbers instead (GraphNeT's FEATURES.UPGRADE names).
ID_COLUMNS = ("string", "dom_number")
EVENT_COLUMN = "event_no"
#: Pulse columns a source may name differently (``--pulse-column NAME=COLUMN``).
PULSE_NAMES = (*PULSE_COLUMNS, *ID_COLUMNS, EVENT_COLUMN)
#: Truth columns that identify an event in IceCube's bookkeeping, kept beside event_no where present.
SOURCE_ID_COLUMNS = ("RunID", "SubrunID", "EventID", "SubEventID")
#: Pulse columns that describe the pulse's DOM (FEATURES.ICECUBE86), kept where present.
RESPONSE_COLUMNS = ("rde", "pmt_area")


@dataclass(frozen=True)
class TableLayout:
    """One kind of GraphNeT table set.

    Attributes:
        name: what it is, for messages.
        truth_table: the truth table's (and Parquet truth folder's) name.
        pulse_table: the default pulse table (Parquet folder; SQLite finds the one with pulse columns).
        labels: GENESIS label -> truth column.
        pulse_columns: GENESIS pulse name -> the table's column, where they differ.
        photons: rows are Prometheus photons: one PE each (no charge column), directions of travel
            and Prometheus' frame, converted into GENESIS's.
    """

    name: str
    truth_table: str
    pulse_table: str
    labels: Mapping[str, str]
    pulse_columns: Mapping[str, str] = field(default_factory=dict)
    photons: bool = False


ICECUBE = TableLayout("GraphNeT IceCube pulse map", "truth", "SRTInIcePulses", GRAPHNET_LABELS)
PROMETHEUS = TableLayout(
    "GraphNeT Prometheus photons", "mc_truth", "total",
    {"energy": "injection_energy", "zenith": "injection_zenith", "azimuth": "injection_azimuth",
     "x": "injection_position_x", "y": "injection_position_y", "z": "injection_position_z"},
    {"dom_x": "sensor_pos_x", "dom_y": "sensor_pos_y", "dom_z": "sensor_pos_z", "dom_time": "t"},
    photons=True)


def layout_of(tables: set[str] | list[str]) -> TableLayout:
    """The layout of a table set (SQLite tables, or Parquet subfolders): IceCube unless only ``mc_truth`` is there."""
    return PROMETHEUS if ICECUBE.truth_table not in tables and PROMETHEUS.truth_table in tables else ICECUBE


def pulse_column_hint(columns: list[str]) -> str:
    """The hint for a pulse table that lacks a column GENESIS reads: its columns, and the flag that maps one."""
    return (f"the pulse table's columns: {', '.join(columns)}; map one with --pulse-column NAME=COLUMN "
            f"(NAME: {', '.join(PULSE_NAMES)})")
