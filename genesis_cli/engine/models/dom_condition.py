"""Per-DOM conditioning: what each DOM's light should be, given the event's labels.

IceCube's likelihood reconstructions tabulate a DOM's expected light by its distance to the vertex
and the angle to the direction, and its time by the residual from the direct-light time (the rpdf
geometry). A network given only a global label vector must learn that geometry from scratch; here
every DOM gets it as input features, and a small MLP shared by all DOMs turns the network's
context, the DOM's own input and these features into its output (``DomHead``), so "light falls
off with distance from the vertex" is learned once for all 5160 DOMs rather than once per position.

Features (B, K, L), from normalised labels and geometry (metres through ``length_scale``):
log distance and distance to the vertex, cos of the angle between the vertex->DOM vector and the
travel direction, the z-component of the vertex->DOM direction (the PMT faces down), the distance
along the track and the log of the distance from it, and the track's direct-light time minus the
cascade's (Cherenkov light from a muon reaches DOMs ahead of the vertex before light from the
vertex itself; physics notes, t = (d_along + 0.9173 d_perp) / c_vac). Dropped labels (classifier-free
guidance) zero the features, so the unconditional model sees no label information per DOM either.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from genesis_cli.engine.detector.propagation import (
    C_ICE_M_PER_NS,
    C_VACUUM_M_PER_NS,
    CHERENKOV_ANGLE_RAD,
    TRACK_DELAY_COEFF,
)

CONDITION_FEATURES = 7
#: Scales that bring the features to order 1: distances in units of 500 m, log distances relative
#: to 100 m (floored at 10 m, the DOM spacing's order), time differences in units of 300 ns.
DISTANCE_SCALE_M, LOG_DISTANCE_M, MIN_DISTANCE_M, DELAY_SCALE_NS = 500.0, 100.0, 10.0, 300.0
DOM_CONTEXT = 16  # per-DOM context channels the trunk hands to the DOM head


def label_relative_features(label: torch.Tensor, geometry: torch.Tensor, length_scale: float,
                            drop_label: torch.Tensor | None = None) -> torch.Tensor:
    """(B, 6) normalised labels and (3, L) normalised DOM positions -> (B, CONDITION_FEATURES, L)."""
    dx, dy, dz = ((geometry[k].unsqueeze(0) - label[:, 3 + k, None]) * length_scale for k in range(3))  # (B, L) m
    zenith = (label[:, 1:2] + 1) * (math.pi / 2)
    azimuth = (label[:, 2:3] + 1) * math.pi
    sin_zenith = torch.sin(zenith)
    along = -(dx * sin_zenith * torch.cos(azimuth) + dy * sin_zenith * torch.sin(azimuth) + dz * torch.cos(zenith))
    distance = (dx * dx + dy * dy + dz * dz).clamp(min=1e-6).sqrt()
    perp = (distance * distance - along * along).clamp(min=0).sqrt()
    on_cone = along * math.tan(CHERENKOV_ANGLE_RAD) >= perp  # the track's Cherenkov cone reaches the DOM
    delay = torch.where(on_cone, (along + TRACK_DELAY_COEFF * perp) / C_VACUUM_M_PER_NS - distance / C_ICE_M_PER_NS,
                        torch.zeros_like(distance))
    inverse = 1.0 / distance
    features = torch.stack([
        torch.log(distance.clamp(min=MIN_DISTANCE_M) / LOG_DISTANCE_M), distance / DISTANCE_SCALE_M,
        along * inverse, dz * inverse, along / DISTANCE_SCALE_M,
        torch.log(perp.clamp(min=MIN_DISTANCE_M) / LOG_DISTANCE_M), delay / DELAY_SCALE_NS], dim=1)
    if drop_label is not None:
        features = features * (~drop_label).to(features.dtype)[:, None, None]
    return features


class DomHead(nn.Module):
    """Per-DOM output MLP shared by all DOMs: [context, own input, label-relative features, static] -> C.

    The first layer is split by linearity like PatchEmbed: the static columns (geometry, the same for
    every event) act on one detector (1, F_s, L) and broadcast over the batch. The last layer is
    zero-initialised, so the model predicts exactly 0 at initialisation.
    """

    def __init__(self, dynamic: int, static: int, width: int, channels: int) -> None:
        super().__init__()
        self.dynamic = dynamic
        self.hidden = nn.Linear(dynamic + static, width)
        self.act = nn.SiLU()
        self.out = nn.Linear(width, channels)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, dynamic: torch.Tensor, static: torch.Tensor) -> torch.Tensor:
        """dynamic (B, F_d, L), static (1, F_s, L) -> (B, C, L).

        Channels-first batched matmuls with the additive term fused in (baddbmm): no transposes, and
        no separate pass over the (B, W, L) activations to add the static part or the bias. Per-DOM
        work is memory-bound, so passes over these tensors, not FLOPs, set its cost.
        """
        b = dynamic.shape[0]
        w_dynamic, w_static = self.hidden.weight[:, :self.dynamic], self.hidden.weight[:, self.dynamic:]
        shared = torch.matmul(w_static, static) + self.hidden.bias[:, None]  # (1, W, L): once per batch
        h = self.act(torch.baddbmm(shared.expand(b, -1, -1), w_dynamic.expand(b, -1, -1), dynamic))  # (B, W, L)
        bias = self.out.bias[None, :, None].expand(b, -1, h.shape[-1])
        return torch.baddbmm(bias, self.out.weight.expand(b, -1, -1), h)  # (B, C, L)
