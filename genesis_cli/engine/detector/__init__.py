"""The detector: DOM positions, the string structure derived from them, the built-in IceCube-86."""

from genesis_cli.engine.detector.geometry import (
    Geometry,
    StringLayout,
    detect_strings,
    load_geometry_csv,
    with_known_efficiencies,
)
from genesis_cli.engine.detector.icecube import ICECUBE_PMT_AREA_M2, icecube86_geometry

__all__ = ["ICECUBE_PMT_AREA_M2", "Geometry", "StringLayout", "detect_strings", "icecube86_geometry", "load_geometry_csv",
           "with_known_efficiencies"]
