"""Detector geometry: string detection, the built-in IceCube, CSV geometry."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from genesis_cli.engine.detector import Geometry, icecube_like_geometry, load_geometry_csv
from genesis_cli.errors import UsageError
from tests.conftest import SHARED

REAL_GEOMETRY = SHARED / "data" / "icecube_geometry.csv"


def test_builtin_icecube_has_86_strings_of_60_doms() -> None:
    geometry = icecube_like_geometry()
    layout = geometry.strings
    assert geometry.n_doms == 5160
    assert layout is not None and layout.n_strings == 86 and layout.is_regular
    assert layout.grid().shape == (86, 60)
    # string-major, top to bottom: dom_id = 60 * string + dom
    assert (layout.grid() == np.arange(5160).reshape(86, 60)).all()


def test_builtin_icecube_spacings_and_hqe_deepcore() -> None:
    geometry = icecube_like_geometry()
    spacing = geometry.strings.nearest_string_distances()
    assert np.allclose(np.sort(spacing[:78])[-70:], 125.0)  # the triangular grid
    assert (spacing[78:] > 40).all() and (spacing[78:] < 61).all()  # DeepCore 41-60 m
    eff = geometry.relative_efficiency
    assert (eff[:78 * 60] == 1.0).all() and (eff[78 * 60:] == 1.35).all()
    standard_z = geometry.z[:60]
    assert np.allclose(-np.diff(standard_z), 17.0)
    deepcore_z = geometry.z[78 * 60:79 * 60]
    assert (deepcore_z[10:] < -150).all() and np.allclose(-np.diff(deepcore_z[10:]), 7.0)


@pytest.mark.skipif(not REAL_GEOMETRY.is_file(), reason="shared/data/icecube_geometry.csv not present")
def test_real_icecube_geometry_detected_as_strings() -> None:
    geometry = load_geometry_csv(REAL_GEOMETRY)
    layout = geometry.strings
    assert layout is not None and layout.n_strings == 86 and layout.is_regular
    # string 21 is not straight (0.6 m) yet stays one string; dom 1 is the top DOM
    assert (layout.grid() == np.arange(5160).reshape(86, 60)).all()
    assert abs(np.median(layout.nearest_string_distances()[:78]) - 124.3) < 1.0


def test_doms_in_file_order_are_sorted_by_depth_within_strings() -> None:
    z = np.array([-10.0, 10.0, 0.0, 5.0, -5.0, 15.0])
    x = np.array([0.0, 0.0, 0.0, 100.0, 100.0, 100.0])
    layout = Geometry(x, np.zeros(6), z).strings
    assert layout is not None
    assert [list(d) for d in layout.doms] == [[1, 2, 0], [5, 3, 4]]


def test_detector_without_strings_keeps_file_order() -> None:
    rng = np.random.default_rng(0)
    geometry = Geometry(*rng.uniform(-500, 500, (3, 200)))
    assert geometry.strings is None


def test_geometry_csv_with_xyz_columns(tmp_path: Path) -> None:
    path = tmp_path / "geo.csv"
    path.write_text("x,y,z,efficiency\n0,0,1,1.0\n0,0,-1,1.35\n")
    geometry = load_geometry_csv(path)
    assert geometry.n_doms == 2 and list(geometry.relative_efficiency) == [1.0, 1.35]


@pytest.mark.parametrize("text,message", [
    ("a,b,c\n1,2,3\n", "lacks column(s) x, y, z"),
    ("x,y,z\n", "has no rows"),
    ("x,y,z\n1,two,3\n", "non-numeric position"),
    ("x,y,z\n1,nan,3\n", "non-finite positions"),
])
def test_geometry_csv_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "geo.csv"
    path.write_text(text)
    with pytest.raises(UsageError, match=re.escape(message)):
        load_geometry_csv(path)
