"""Detector geometry: DOM positions and the string structure derived from them.

Geometry belongs to the detector, not to the event: it is read once per file (xpmt/ypmt/zpmt) and
shared by every event. IceCube's DOMs hang on vertical strings; grouping DOMs by (x, y) and ordering
each group by depth recovers that structure from positions alone, so convolutions can run along
strings and transformer patches can be string segments. A detector without strings (every DOM at
its own (x, y)) keeps the file's order.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from genesis_cli.errors import UsageError

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
    """DOM positions in metres, shape (L,) each, plus optional relative efficiencies."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    efficiency: np.ndarray | None = field(default=None, compare=False)
    source: str = field(default="", compare=False)
    ids: np.ndarray | None = field(default=None, compare=False)  # (L, 2) IceCube (string, DOM) numbers, when known

    def __post_init__(self) -> None:
        for name in ("x", "y", "z"):
            object.__setattr__(self, name, np.ascontiguousarray(getattr(self, name), dtype=np.float64))
        if not (self.x.shape == self.y.shape == self.z.shape) or self.x.ndim != 1:
            raise ValueError(f"x, y, z must be 1-D of equal length, got {self.x.shape}, "
                             f"{self.y.shape}, {self.z.shape}")
        if self.efficiency is not None:
            object.__setattr__(self, "efficiency", np.asarray(self.efficiency, dtype=np.float64))
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
        return self.efficiency if self.efficiency is not None else np.ones(self.n_doms)

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
        order = np.random.default_rng(seed).permutation(self.n_doms)
        efficiency = self.efficiency[order] if self.efficiency is not None else None
        return Geometry(self.x[order], self.y[order], self.z[order], efficiency,
                        source=f"{self.source} (DOM order shuffled, seed {seed})")

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


def load_geometry_csv(path: Path) -> Geometry:
    """DOM positions from a CSV with a header naming x, y, z columns (metres).

    Other columns are ignored, except an optional ``efficiency`` (relative quantum efficiency) and
    ``string`` with ``dom`` (or ``dom_number``), the IceCube numbers ``convert --match id`` uses.
    The IceCube table ``dom_id,string,dom,x,y,z`` and Kaggle's ``sensor_id,x,y,z`` read as they are.
    """
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = {c.strip().lower(): c for c in (reader.fieldnames or [])}
            missing = [c for c in ("x", "y", "z") if c not in columns]
            if missing:
                raise UsageError(f"{path}: geometry CSV lacks column(s) {', '.join(missing)}",
                                 hint="the header must name x, y and z (metres)")
            rows = list(reader)
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: geometry file not found") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not a text CSV file") from exc
    if not rows:
        raise UsageError(f"{path}: geometry CSV has no rows")
    try:
        values = {c: np.array([float(r[columns[c]]) for r in rows])
                  for c in ("x", "y", "z") + (("efficiency",) if "efficiency" in columns else ())}
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{path}: geometry CSV holds a non-numeric position ({exc})") from exc
    if not all(np.isfinite(v).all() for v in values.values()):
        raise UsageError(f"{path}: geometry CSV holds non-finite positions")
    dom_column = columns.get("dom") or columns.get("dom_number")
    ids = None
    if "string" in columns and dom_column:
        try:
            ids = np.array([[int(float(r[columns["string"]])), int(float(r[dom_column]))] for r in rows])
        except (TypeError, ValueError) as exc:
            raise UsageError(f"{path}: geometry CSV holds a non-numeric string or DOM number ({exc})") from exc
    return Geometry(values["x"], values["y"], values["z"], values.get("efficiency"), source=str(path), ids=ids)


#: Positions are the same DOM when they agree to this many metres.
POSITION_MATCH_M = 0.01


def with_known_efficiencies(geometry: Geometry, known: Geometry) -> Geometry:
    """``geometry`` with the relative efficiencies of ``known`` where every DOM position is one of
    ``known``'s (any order); ``geometry`` unchanged otherwise."""
    if geometry.efficiency is not None or known.efficiency is None or geometry.n_doms != known.n_doms:
        return geometry

    def keys(g: Geometry) -> list[tuple[int, int, int]]:
        return [tuple(v) for v in np.round(g.positions.T / POSITION_MATCH_M).astype(np.int64)]

    index = {key: i for i, key in enumerate(keys(known))}
    order = [index.get(key) for key in keys(geometry)]
    if any(i is None for i in order) or len(set(order)) != geometry.n_doms:
        return geometry
    return Geometry(geometry.x, geometry.y, geometry.z, known.efficiency[np.array(order)],
                    source=f"{geometry.source} (efficiencies of the {known.source})", ids=geometry.ids)
