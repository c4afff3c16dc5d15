"""Detector geometry: string detection, the built-in IceCube, CSV geometry."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from genesis_cli.engine.detector import Geometry, icecube86_geometry, load_geometry_csv
from genesis_cli.errors import UsageError
from tests.conftest import SHARED

REAL_GEOMETRY = SHARED / "data" / "icecube_geometry.csv"


def test_builtin_icecube_has_86_strings_of_60_doms() -> None:
    geometry = icecube86_geometry()
    layout = geometry.strings
    assert geometry.n_doms == 5160
    assert layout is not None and layout.n_strings == 86 and layout.is_regular
    assert layout.grid().shape == (86, 60)
    # string-major, top to bottom: dom_id = 60 * string + dom
    assert (layout.grid() == np.arange(5160).reshape(86, 60)).all()


def test_builtin_icecube_is_the_real_detector() -> None:
    """Issue 23: the built-in detector is IceCube-86 at its published positions, with IceCube's numbers."""
    geometry = icecube86_geometry()
    assert geometry.ids is not None and (geometry.ids[0] == (1, 1)).all() and (geometry.ids[-1] == (86, 60)).all()
    assert np.allclose(geometry.positions[:, 0], (-256.14, -521.08, 496.03))  # string 1, DOM 1
    assert np.allclose(geometry.positions[:, -1], (-10.97, 6.72, -500.73))  # string 86, DOM 60
    spacing = geometry.strings.nearest_string_distances()
    assert abs(np.median(spacing[:78]) - 124.3) < 1.0  # the triangular grid
    assert (spacing[78:] > 40).all() and (spacing[78:] < 61).all()  # DeepCore 41-60 m
    assert abs(np.median(-np.diff(geometry.z[:60])) - 17.02) < 0.05
    eff = geometry.relative_efficiency  # real rde: DeepCore's HQE DOMs and a few on strings 36 and 43
    assert set(eff) == {1.0, 1.35} and (eff == 1.35).sum() == 401
    string, dom = geometry.ids.T
    assert (eff[(string == 36) & (dom == 55)] == 1.35).all() and (eff[(string == 80) & (dom == 45)] == 1.0).all()
    assert (eff[(string >= 81)] == 1.35).mean() > 0.8 and (eff[string < 79] == 1.35).sum() < 20
    deepcore_z = geometry.z[78 * 60:79 * 60]
    assert (deepcore_z[10:] < -150).all() and abs(np.median(-np.diff(deepcore_z[10:])) - 7.0) < 0.1
    for axis, (low, high) in zip(geometry.positions, ((-571, 577), (-522, 510), (-513, 525))):
        assert low <= axis.min() and axis.max() <= high


@pytest.mark.skipif(not REAL_GEOMETRY.is_file(), reason="shared/data/icecube_geometry.csv not present")
def test_the_builtin_detector_holds_the_published_table() -> None:
    published, builtin = load_geometry_csv(REAL_GEOMETRY), icecube86_geometry()
    assert np.array_equal(published.positions, builtin.positions) and np.array_equal(published.ids, builtin.ids)


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
