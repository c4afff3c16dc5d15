"""The detector as a grid for the networks: strings x positions along each string.

Every architecture works on a grid (S strings, N positions of P DOMs each), derived once from the
geometry: DOMs grouped into strings by (x, y) and ordered by depth, so convolutions run along
strings and DiT tokens are string segments. Without string structure (other detectors) the file's
order is cut into segments of ``FALLBACK_SEGMENT`` DOMs. Strings of unequal length are padded;
padded slots are zero and flagged invalid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from genesis_cli.engine.detector.geometry import detect_strings

#: Segment length (DOMs) of the pseudo-strings used when no string structure is found.
FALLBACK_SEGMENT = 60


@dataclass(frozen=True)
class GridLayout:
    """DOM -> grid mapping: ``index`` (S, D) holds DOM numbers, -1 for padding; D % patch == 0."""

    index: torch.Tensor  # (S, D) long
    inverse: torch.Tensor  # (L,) long: flat grid position of each DOM
    adjacency: torch.Tensor  # (S, S) row-normalised k-nearest-string weights (zero rows if k = 0)
    n_doms: int
    patch: int
    dense: bool = False  # no padding: every grid slot is a DOM
    in_order: bool = False  # dense, and the file's DOM order is the grid's: the grid is a view of the events

    @property
    def n_strings(self) -> int:
        return int(self.index.shape[0])

    @property
    def n_positions(self) -> int:
        """Positions (patches) per string."""
        return int(self.index.shape[1]) // self.patch

    def to(self, device: torch.device) -> GridLayout:
        return GridLayout(self.index.to(device), self.inverse.to(device), self.adjacency.to(device),
                          self.n_doms, self.patch, self.dense, self.in_order)

    def to_grid(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, L) -> (B, C, S, D), padding with zeros (a view when the file is in grid order)."""
        if self.in_order:
            return x.reshape(*x.shape[:2], *self.index.shape)
        if self.dense:
            return x[:, :, self.index]
        padded = torch.cat([x, x.new_zeros(x.shape[0], x.shape[1], 1)], dim=-1)
        safe = torch.where(self.index >= 0, self.index, self.n_doms)
        return padded[:, :, safe]

    def from_grid(self, grid: torch.Tensor) -> torch.Tensor:
        """(B, C, S, D) -> (B, C, L), dropping padding."""
        if self.in_order:
            return grid.reshape(*grid.shape[:2], self.n_doms)
        return grid.flatten(2)[:, :, self.inverse]


def _strings(geometry: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """DOM indices of each string (top down) and the strings' (x, y); file-order segments if none."""
    x, y, z = (np.asarray(c, dtype=np.float64) for c in geometry)
    strings = detect_strings(x, y, z)
    if strings is not None:
        return list(strings.doms), strings.xy
    n_doms = len(x)
    members = [np.arange(s, min(s + FALLBACK_SEGMENT, n_doms)) for s in range(0, n_doms, FALLBACK_SEGMENT)]
    return members, np.array([[x[m].mean(), y[m].mean()] for m in members])


def resolve_patch(spec: int | str, geometry: np.ndarray) -> int:
    """DOMs per patch: ``spec`` itself, or for 'string' the length of the detector's longest string."""
    if spec != "string":
        return int(spec)
    members, _ = _strings(geometry)
    return max(len(m) for m in members)


def build_layout(geometry: np.ndarray, patch: int, neighbours: int) -> GridLayout:
    """Grid layout for a (3, L) geometry (any units) with ``patch`` DOMs per position."""
    members, xy = _strings(geometry)
    n_doms = len(geometry[0])
    longest = max(len(m) for m in members)
    size = int(patch)
    depth = math.ceil(longest / size) * size
    index = np.full((len(members), depth), -1, dtype=np.int64)
    for s, m in enumerate(members):
        index[s, :len(m)] = m
    inverse = np.empty(n_doms, dtype=np.int64)
    flat = index.ravel()
    inverse[flat[flat >= 0]] = np.flatnonzero(flat >= 0)
    dense = bool((flat >= 0).all())
    return GridLayout(torch.from_numpy(index), torch.from_numpy(inverse),
                      torch.from_numpy(_adjacency(xy, neighbours)).float(), n_doms, size,
                      dense=dense, in_order=dense and bool((flat == np.arange(n_doms)).all()))


def _adjacency(xy: np.ndarray, k: int) -> np.ndarray:
    """(S, S) matrix averaging each string's k nearest neighbouring strings."""
    n = len(xy)
    k = min(k, n - 1)
    matrix = np.zeros((n, n))
    if k <= 0:
        return matrix
    distance = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    np.fill_diagonal(distance, np.inf)
    nearest = np.argsort(distance, axis=1)[:, :k]
    np.put_along_axis(matrix, nearest, 1.0 / k, axis=1)
    return matrix
