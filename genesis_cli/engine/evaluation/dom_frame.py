"""The per-DOM classifier's view of an event: its hits in the event's own frame.

A classifier fed 2 x 5,160 DOM values in detector order learns nothing from a few thousand events,
and never sees whether the light matches the labels: a wrong vertex or direction only moves light
to other DOMs. IceCube's likelihood reconstructions tabulate the expected light of a DOM by its
distance to the vertex and its angle to the direction (the spline tables of photonics/ppc), and the
generator is conditioned on the same quantities. So each event becomes a small image over
(distance to the labelled vertex) x (cosine of the angle between the DOM's direction from the vertex
and the labelled travel direction), and per cell: the fraction of its DOMs hit, their total charge,
and the charge-weighted mean and the earliest direct-light time residual t - d / c_ice of their
hits. An event generated for the wrong vertex, direction or energy, with late or smeared times or
with spurious weak hits, lands in other cells or with other values, and every DOM still counts.

Shapes: distance, cos_angle, npe, time, hit (B, L) -> (B, CELLS * CHANNELS) float32.
"""

from __future__ import annotations

import numpy as np

from genesis_cli.engine.detector.propagation import C_ICE_M_PER_NS

#: Distance bins (m): finer near the vertex, where most light is.
DISTANCE_EDGES_M = (0.0, 25.0, 50.0, 75.0, 100.0, 140.0, 190.0, 250.0, 330.0, 450.0, 650.0, np.inf)
#: Bins of the cosine of the angle to the labelled travel direction: behind, side-behind, side-ahead, ahead.
COS_ANGLE_EDGES = (-1.0, -0.5, 0.0, 0.5, 1.0)
CELLS = (len(DISTANCE_EDGES_M) - 1) * (len(COS_ANGLE_EDGES) - 1)
CHANNELS = ("hit fraction", "log1p charge", "mean residual", "earliest residual")
#: Time residual written for a cell without hits (its hit fraction 0 already says so).
NO_HIT_RESIDUAL_NS = 0.0


def cell_index(distance: np.ndarray, cos_angle: np.ndarray) -> np.ndarray:
    """(B, L) cell of each DOM: distance bin x cos-angle bin."""
    d = np.clip(np.searchsorted(DISTANCE_EDGES_M, distance, side="right") - 1, 0, len(DISTANCE_EDGES_M) - 2)
    a = np.clip(np.searchsorted(COS_ANGLE_EDGES, cos_angle, side="right") - 1, 0, len(COS_ANGLE_EDGES) - 2)
    return d * (len(COS_ANGLE_EDGES) - 1) + a


def frame_image(distance: np.ndarray, cos_angle: np.ndarray, npe: np.ndarray, time: np.ndarray,
                hit: np.ndarray) -> np.ndarray:
    """(B, CELLS * len(CHANNELS)) per-event images; ``time`` is ignored where ``hit`` is False."""
    n_events = distance.shape[0]
    flat = (np.arange(n_events)[:, None] * CELLS + cell_index(distance, cos_angle)).ravel()
    size = n_events * CELLS
    hit_flat = hit.ravel()
    doms = np.bincount(flat, minlength=size)
    hits = np.bincount(flat[hit_flat], minlength=size)
    charge_flat = np.where(hit, npe, 0.0).ravel()
    charge = np.bincount(flat, weights=charge_flat, minlength=size)
    residual = np.where(hit, time - distance / C_ICE_M_PER_NS, 0.0).ravel()
    weighted = np.bincount(flat, weights=charge_flat * residual, minlength=size)
    earliest = np.full(size, np.inf)
    np.minimum.at(earliest, flat[hit_flat], residual[hit_flat])
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(doms > 0, hits / np.maximum(doms, 1), 0.0)
        mean = np.where(charge > 0, weighted / charge, NO_HIT_RESIDUAL_NS)
    earliest = np.where(np.isfinite(earliest), earliest, NO_HIT_RESIDUAL_NS)
    image = np.stack([fraction, np.log1p(charge), mean, earliest], axis=1)  # (B * CELLS, C)
    return image.reshape(n_events, CELLS * len(CHANNELS)).astype(np.float32)
