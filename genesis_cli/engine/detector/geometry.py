"""Detector geometry: DOM positions and the string structure derived from them.

Geometry belongs to the detector, not to the event: it is read once per file (xpmt/ypmt/zpmt) and
shared by every event. IceCube's DOMs hang on vertical strings; grouping DOMs by (x, y) and ordering
each group by depth recovers that structure from positions alone, so convolutions can run along
strings and transformer patches can be string segments. A detector without strings (every DOM at
its own (x, y)) keeps the file's order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

#: DOMs whose (x, y) lie within this fraction of the detector's horizontal span belong to one
#: string: 5.7 m for IceCube (span 1147 m), whose string 21 bends by 0.6 m and whose closest
#: distinct strings are ~40 m apart (DeepCore). Relative, so normalised coordinates work too.
STRING_TOLERANCE_FRACTION = 0.005


@dataclass(frozen=True)
class StringLayout:
    """DOMs grouped into vertical strings.

    Attributes:
        string_of_dom: (L,) string number (0-based, ordered by first appearance) of each DOM.
        doms: per string, the DOM indices ordered from the top (highest z) down.
        xy: (S, 2) mean (x, y) of each string.
    """

    string_of_dom: np.ndarray
    doms: tuple[np.ndarray, ...]
    xy: np.ndarray

    @property
    def n_strings(self) -> int:
        return len(self.doms)

    @property
    def doms_per_string(self) -> np.ndarray:
        """(S,) number of DOMs on each string."""
        return np.array([len(d) for d in self.doms])

    @property
    def is_regular(self) -> bool:
        """True when every string carries the same number of DOMs (a (S, D) grid)."""
        counts = self.doms_per_string
        return bool(len(counts) and np.all(counts == counts[0]))

    def grid(self) -> np.ndarray:
        """(S, D) DOM indices, top to bottom per string; only for regular layouts."""
        if not self.is_regular:
            raise ValueError("strings carry different numbers of DOMs; no (S, D) grid exists")
        return np.stack(self.doms)

    def nearest_string_distances(self) -> np.ndarray:
        """(S,) distance from each string to its nearest neighbouring string, in metres."""
        if self.n_strings < 2:
            return np.full(self.n_strings, np.inf)
        d = np.linalg.norm(self.xy[:, None, :] - self.xy[None, :, :], axis=-1)
        np.fill_diagonal(d, np.inf)
        return d.min(axis=1)


@dataclass(frozen=True)
class Geometry:
    """DOM positions in metres, shape (L,) each, plus what is known of each DOM's response.

    ``efficiency`` (L,) is the relative quantum efficiency (IceCube's rde: 1.35 on high-QE DOMs; NaN
    where a table leaves it unknown), ``pmt_area`` (L,) the photocathode area in m^2 (0.0444 for an
    IceCube DOM, the sum over its PMTs for a multi-PMT module), ``ids`` (L, 2) IceCube's (string, DOM)
    numbers.
    """

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    efficiency: np.ndarray | None = field(default=None, compare=False)
    source: str = field(default="", compare=False)
    ids: np.ndarray | None = field(default=None, compare=False)
    pmt_area: np.ndarray | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in ("x", "y", "z"):
            object.__setattr__(self, name, np.ascontiguousarray(getattr(self, name), dtype=np.float64))
        if not (self.x.shape == self.y.shape == self.z.shape) or self.x.ndim != 1:
            raise ValueError(f"x, y, z must be 1-D of equal length, got {self.x.shape}, "
                             f"{self.y.shape}, {self.z.shape}")
        for name in ("efficiency", "pmt_area"):
            values = getattr(self, name)
            if values is not None:
                values = np.asarray(values, dtype=np.float64)
                if values.shape != self.x.shape:
                    raise ValueError(f"{name} must have one value per DOM ({self.x.shape}), got {values.shape}")
                object.__setattr__(self, name, values)
        if self.ids is not None:
            object.__setattr__(self, "ids", np.asarray(self.ids, dtype=np.int64).reshape(-1, 2))

    @property
    def n_doms(self) -> int:
        return int(self.x.shape[0])

    @property
    def positions(self) -> np.ndarray:
        """(3, L) array of x, y, z."""
        return np.stack([self.x, self.y, self.z])

    @property
    def relative_efficiency(self) -> np.ndarray:
        """(L,) relative quantum efficiency (1 where unknown)."""
        if self.efficiency is None:
            return np.ones(self.n_doms)
        return np.where(np.isfinite(self.efficiency), self.efficiency, 1.0)

    @property
    def extent(self) -> dict[str, tuple[float, float]]:
        """Min and max of each coordinate, in metres."""
        return {axis: (float(v.min()), float(v.max())) for axis, v in
                (("x", self.x), ("y", self.y), ("z", self.z))}

    @property
    def half_size(self) -> float:
        """Largest |coordinate| relative to the centre of the bounding box: the length scale."""
        centre = [(lo + hi) / 2 for lo, hi in self.extent.values()]
        return float(max(np.abs(self.x - centre[0]).max(), np.abs(self.y - centre[1]).max(),
                         np.abs(self.z - centre[2]).max(), 1e-9))

    def shuffled(self, seed: int) -> Geometry:
        """The same detector with its DOMs in a seeded random file order (files from other tools
        rarely list DOMs string by string; nothing in GENESIS may depend on the order)."""
        return self.select(np.random.default_rng(seed).permutation(self.n_doms),
                           f"{self.source} (DOM order shuffled, seed {seed})")

    def select(self, doms: np.ndarray, source: str | None = None) -> Geometry:
        """The DOMs ``doms`` (indices, in that order) with everything known about them."""
        def pick(values: np.ndarray | None) -> np.ndarray | None:
            return None if values is None else values[doms]

        return Geometry(self.x[doms], self.y[doms], self.z[doms], pick(self.efficiency),
                        source=self.source if source is None else source, ids=pick(self.ids), pmt_area=pick(self.pmt_area))

    @cached_property
    def strings(self) -> StringLayout | None:
        """The string structure, or None when the DOMs do not form strings."""
        return detect_strings(self.x, self.y, self.z)


def detect_strings(x: np.ndarray, y: np.ndarray, z: np.ndarray,
                   tolerance: float | None = None) -> StringLayout | None:
    """Group DOMs into vertical strings by (x, y); None unless >= 2 strings of >= 2 DOMs on average.

    ``tolerance`` (same unit as x, y) defaults to STRING_TOLERANCE_FRACTION of the horizontal span.
    """
    n = len(x)
    if n < 4:
        return None
    xy = np.stack([np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)], axis=1)
    if tolerance is None:
        span = float(max(np.ptp(xy[:, 0]), np.ptp(xy[:, 1])))
        tolerance = max(STRING_TOLERANCE_FRACTION * span, 1e-12)
    # Snap to a grid of cell `tolerance` and merge neighbouring cells: near-linear time.
    cells = np.floor(xy / tolerance).astype(np.int64)
    string_of_dom = np.full(n, -1, dtype=np.int64)
    centres: list[np.ndarray] = []
    cell_to_strings: dict[tuple[int, int], list[int]] = {}
    for i in range(n):
        cx, cy = cells[i]
        best, best_d = -1, tolerance
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for s in cell_to_strings.get((cx + dx, cy + dy), ()):
                    d = float(np.hypot(*(xy[i] - centres[s])))
                    if d <= best_d:
                        best, best_d = s, d
        if best < 0:
            best = len(centres)
            centres.append(xy[i].copy())
            cell_to_strings.setdefault((cx, cy), []).append(best)
        string_of_dom[i] = best
    n_strings = len(centres)
    if n_strings < 2 or n_strings > n // 2:
        return None
    doms = tuple(
        members[np.argsort(-z[members], kind="stable")]
        for members in (np.flatnonzero(string_of_dom == s) for s in range(n_strings))
    )
    mean_xy = np.array([xy[d].mean(axis=0) for d in doms])
    return StringLayout(string_of_dom=string_of_dom, doms=doms, xy=mean_xy)


#: Positions are the same DOM when they agree to this many metres.
POSITION_MATCH_M = 0.01


def with_known_response(geometry: Geometry, known: Geometry) -> Geometry:
    """``geometry`` with the efficiencies and PMT areas of ``known`` where ``geometry`` lacks them and
    every DOM position is one of ``known``'s (any order); ``geometry`` unchanged otherwise."""
    lacks = [name for name in ("efficiency", "pmt_area")
             if getattr(geometry, name) is None and getattr(known, name) is not None]
    if not lacks or geometry.n_doms != known.n_doms:
        return geometry

    def keys(g: Geometry) -> list[tuple[int, int, int]]:
        return [tuple(v) for v in np.round(g.positions.T / POSITION_MATCH_M).astype(np.int64)]

    index = {key: i for i, key in enumerate(keys(known))}
    order = [index.get(key) for key in keys(geometry)]
    if any(i is None for i in order) or len(set(order)) != geometry.n_doms:
        return geometry
    taken = known.select(np.array(order))
    return Geometry(geometry.x, geometry.y, geometry.z,
                    geometry.efficiency if geometry.efficiency is not None else taken.efficiency,
                    source=f"{geometry.source} ({' and '.join(lacks)} of the {known.source})",
                    ids=geometry.ids if geometry.ids is not None else taken.ids,
                    pmt_area=geometry.pmt_area if geometry.pmt_area is not None else taken.pmt_area)
