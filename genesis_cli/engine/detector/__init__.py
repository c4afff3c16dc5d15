"""The detector: DOM positions, the string structure derived from them, a built-in IceCube."""

from genesis_cli.engine.detector.geometry import Geometry, StringLayout, detect_strings, load_geometry_csv
from genesis_cli.engine.detector.icecube import icecube86_geometry

__all__ = ["Geometry", "StringLayout", "detect_strings", "icecube86_geometry", "load_geometry_csv"]
