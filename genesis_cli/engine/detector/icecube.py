"""A built-in IceCube-like detector, so GENESIS runs with no downloaded geometry.

Layout (IceCube Collaboration, JINST 12 P03012 (2017); figures in shared/notes/physics.md):
- 78 standard strings on a triangular grid with 125 m spacing, the 78 grid points nearest the
  centre; 60 DOMs each, 17 m apart, from z = +500 m down to -503 m.
- 8 DeepCore strings on a ring of radius 55 m around the central string (~42 m between
  neighbours): 10 veto-cap DOMs at 10 m spacing from z = +190 m, then 50 DOMs at 7 m spacing
  from z = -157 m down to -500 m; high-quantum-efficiency DOMs (relative efficiency 1.35).
DOMs are stored string-major, top to bottom, like the real table (dom_id = 60 * string + dom).
"""

from __future__ import annotations

import numpy as np

from genesis_cli.engine.detector.geometry import Geometry

N_STANDARD_STRINGS = 78
N_DEEPCORE_STRINGS = 8
DOMS_PER_STRING = 60
STRING_SPACING_M = 125.0
DOM_SPACING_M = 17.0
TOP_DOM_Z_M = 500.0
DEEPCORE_RING_RADIUS_M = 55.0
DEEPCORE_CAP = (10, 190.0, 10.0)  # DOMs, top z, spacing
DEEPCORE_DENSE = (50, -157.0, 7.0)
HQE_EFFICIENCY = 1.35


def _triangular_grid_points(count: int, spacing: float) -> np.ndarray:
    """The ``count`` points of a triangular lattice nearest the origin (ties broken by angle)."""
    span = int(np.ceil(np.sqrt(count))) + 2
    i, j = np.meshgrid(np.arange(-span, span + 1), np.arange(-span, span + 1), indexing="ij")
    x = spacing * (i + 0.5 * j)
    y = spacing * (np.sqrt(3) / 2) * j
    points = np.stack([x.ravel(), y.ravel()], axis=1)
    radius = np.round(np.hypot(points[:, 0], points[:, 1]), 6)
    angle = np.round(np.arctan2(points[:, 1], points[:, 0]), 6)
    order = np.lexsort((angle, radius))
    return points[order[:count]]


def icecube_like_geometry() -> Geometry:
    """The built-in 86-string, 5160-DOM detector."""
    standard_xy = _triangular_grid_points(N_STANDARD_STRINGS, STRING_SPACING_M)
    angles = 2 * np.pi * (np.arange(N_DEEPCORE_STRINGS) + 0.5) / N_DEEPCORE_STRINGS
    deepcore_xy = DEEPCORE_RING_RADIUS_M * np.stack([np.cos(angles), np.sin(angles)], axis=1)

    standard_z = TOP_DOM_Z_M - DOM_SPACING_M * np.arange(DOMS_PER_STRING)
    (n_cap, cap_top, cap_step), (n_dense, dense_top, dense_step) = DEEPCORE_CAP, DEEPCORE_DENSE
    deepcore_z = np.concatenate([cap_top - cap_step * np.arange(n_cap),
                                 dense_top - dense_step * np.arange(n_dense)])

    xs, ys, zs, eff = [], [], [], []
    for xy, z, e in [*((p, standard_z, 1.0) for p in standard_xy),
                     *((p, deepcore_z, HQE_EFFICIENCY) for p in deepcore_xy)]:
        xs.append(np.full(DOMS_PER_STRING, xy[0]))
        ys.append(np.full(DOMS_PER_STRING, xy[1]))
        zs.append(z)
        eff.append(np.full(DOMS_PER_STRING, e))
    index = np.arange(len(standard_xy) + len(deepcore_xy)).repeat(DOMS_PER_STRING)
    ids = np.stack([index + 1, np.tile(np.arange(1, DOMS_PER_STRING + 1), len(standard_xy) + len(deepcore_xy))], axis=1)
    return Geometry(np.concatenate(xs), np.concatenate(ys), np.concatenate(zs),
                    np.concatenate(eff), source="built-in IceCube-like (86 strings x 60 DOMs)", ids=ids)
