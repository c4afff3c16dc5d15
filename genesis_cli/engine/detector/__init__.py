"""The detector: DOM positions, the string structure derived from them, the built-in IceCube-86."""

from genesis_cli.engine.detector.geometry import Geometry, StringLayout, detect_strings, with_known_response
from genesis_cli.engine.detector.icecube import ICECUBE_PMT_AREA_M2, icecube86_geometry
from genesis_cli.engine.detector.tables import load_geometry, load_geometry_csv, load_geometry_parquet

__all__ = ["ICECUBE_PMT_AREA_M2", "Geometry", "StringLayout", "detect_strings", "icecube86_geometry", "load_geometry",
           "load_geometry_csv", "load_geometry_parquet", "with_known_response"]
