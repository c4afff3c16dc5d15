"""The built-in detector: IceCube-86 at its published DOM positions, so GENESIS runs with nothing to download.

86 strings x 60 DOMs = 5,160 DOMs (IceCube Collaboration, JINST 12 P03012 (2017); figures in
shared/notes/physics.md), from package data ``data/icecube86.csv`` (its README names the sources):
78 standard strings on a ~125 m triangular grid with DOMs 17 m apart, and the 8 DeepCore strings
79-86 near the centre. Each DOM carries its real relative efficiency (rde): 1.35 for the 401
high-quantum-efficiency DOMs (most of DeepCore's, and the bottom of strings 36 and 43), 1 elsewhere,
and IceCube's PMT area, 0.0444 m^2.
DOMs are stored string-major, DOM 1 at the top, and carry IceCube's (string, DOM) numbers, so
``genesis convert --match id`` and position matching place real pulses on their real DOMs.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from genesis_cli.engine.detector.geometry import Geometry
from genesis_cli.engine.detector.tables import load_geometry_csv

N_STRINGS = 86
DOMS_PER_STRING = 60
HQE_EFFICIENCY = 1.35
#: Effective photocathode area of an IceCube DOM's 10-inch PMT, m^2 (GraphNeT's pmt_area feature of real IceCube pulses).
ICECUBE_PMT_AREA_M2 = 0.0444
SOURCE = "built-in IceCube-86 (86 strings x 60 DOMs, published positions)"


def geometry_table() -> Path:
    """The shipped IceCube-86 position table (dom_id, string, dom, x, y, z)."""
    return Path(str(resources.files("genesis_cli.engine.detector") / "data" / "icecube86.csv"))


@lru_cache(maxsize=1)
def _icecube86() -> Geometry:
    table = load_geometry_csv(geometry_table())
    assert table.ids is not None and table.efficiency is not None and table.n_doms == N_STRINGS * DOMS_PER_STRING
    return Geometry(table.x, table.y, table.z, table.efficiency, source=SOURCE, ids=table.ids,
                    pmt_area=np.full(table.n_doms, ICECUBE_PMT_AREA_M2))


def icecube86_geometry() -> Geometry:
    """The built-in detector (a fresh copy: callers may keep or change it freely)."""
    g = _icecube86()
    return g.select(np.arange(g.n_doms))
