"""Matching pulses to the DOMs of a geometry by position.

Pulse tables (GraphNeT, Prometheus) give each pulse its DOM's position, not an index into our
geometry. Positions repeat: a file's pulses come from a few thousand DOMs, so each distinct
position is matched once, to the nearest DOM, and accepted only within a tolerance.
"""

from __future__ import annotations

import numpy as np

from genesis_cli.engine.detector import Geometry
from genesis_cli.errors import DataError, UsageError

#: Distinct positions matched per block (a block x L x 3 difference array: 32 MiB for IceCube).
#: Misses up to this far (metres) are rounding, and a larger --tolerance is the fix; beyond, DOMs are
#: 7-17 m apart on a string and a larger tolerance would match the wrong one.
NEAR_MISS_M = 3.0
MATCH_BLOCK = 256
ID_STRIDE = 1000  # string * 1000 + DOM: one integer key per IceCube DOM


class IdMatcher:
    """Maps IceCube (string, DOM) numbers to indices of ``geometry`` (which must carry them)."""

    def __init__(self, geometry: Geometry, source: str) -> None:
        if geometry.ids is None:
            raise UsageError(f"{geometry.source}: has no string and DOM numbers to match pulses by",
                             hint="pass --geometry FILE with string and dom columns, or match by position")
        self.source, self.geometry_source = source, geometry.source
        self.keys = geometry.ids[:, 0] * ID_STRIDE + geometry.ids[:, 1]
        self.order = np.argsort(self.keys)

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        """(P,) DOM indices for (P, >=2) rows of (string, DOM, ...); DataError naming the first unknown pair."""
        missing = ~np.isfinite(ids[:, :2]).all(axis=1)
        if missing.any():
            raise DataError(f"{self.source}: {int(missing.sum())} pulse(s) without a string or DOM number",
                            hint="match by position instead (--match position)")
        keys = ids[:, 0].astype(np.int64) * ID_STRIDE + ids[:, 1].astype(np.int64)
        at = np.searchsorted(self.keys, keys, sorter=self.order).clip(max=len(self.keys) - 1)
        index = self.order[at]
        unknown = self.keys[index] != keys
        if unknown.any():
            string, dom = ids[int(np.argmax(unknown)), :2]
            raise DataError(f"{self.source}: a pulse of string {int(string)}, DOM {int(dom)} matches no DOM of "
                            f"{self.geometry_source}", hint="pass the detector's geometry with --geometry FILE")
        return index


class DomMatcher:
    """Maps DOM positions (P, 3) in metres to indices of ``geometry`` (within ``tolerance_m``)."""

    def __init__(self, geometry: Geometry, tolerance_m: float, source: str) -> None:
        self.positions = geometry.positions.T.astype(np.float64)  # (L, 3)
        self.tolerance = tolerance_m
        self.source = source
        self.geometry_source = geometry.source
        self.known: dict[tuple[float, float, float], int] = {}

    def __call__(self, xyz: np.ndarray) -> np.ndarray:
        """(P,) DOM indices for pulse positions (P, 3); DataError naming the first unmatched position."""
        unique, inverse = np.unique(xyz.astype(np.float64), axis=0, return_inverse=True)
        index = np.empty(len(unique), dtype=np.int64)
        new = []
        for i, row in enumerate(map(tuple, unique)):
            found = self.known.get(row)
            if found is None:
                new.append(i)
            else:
                index[i] = found
        for start in range(0, len(new), MATCH_BLOCK):
            rows = np.asarray(new[start:start + MATCH_BLOCK])
            distance = np.linalg.norm(unique[rows, None, :] - self.positions[None, :, :], axis=2)  # (b, L)
            nearest = distance.argmin(axis=1)
            off = distance[np.arange(len(rows)), nearest]
            if (off > self.tolerance).any():
                bad = int(np.argmax(off > self.tolerance))
                x, y, z = unique[rows[bad]]
                near_miss = off[bad] <= NEAR_MISS_M  # a rounding of positions, not another detector or frame
                raise DataError(f"{self.source}: a pulse at DOM position ({x:.2f}, {y:.2f}, {z:.2f}) m matches no DOM "
                                f"of {self.geometry_source} (nearest {off[bad]:.2f} m away)",
                                hint="a slightly larger --tolerance" if near_miss else
                                "the file's detector or frame differs: pass its geometry with --geometry FILE (for "
                                "Prometheus, --z-offset METRES); a larger --tolerance would put hits on wrong DOMs")
            index[rows] = nearest
            self.known.update({tuple(unique[r]): int(n) for r, n in zip(rows, nearest)})
        return index[inverse.ravel()]
