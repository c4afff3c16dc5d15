"""Model cost: parameter count and forward FLOPs per event (compare and bench report them)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from genesis_cli.engine.models.factory import GeometryLike, build_model, geometry_array
from genesis_cli.settings import ModelConfig


@dataclass(frozen=True)
class ModelCost:
    parameters: int
    forward_flops_per_event: int

    @property
    def training_flops_per_event(self) -> int:
        """Forward + backward: ~3x the forward FLOPs (Kaplan et al. 2020)."""
        return 3 * self.forward_flops_per_event


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def batch_flops(model: nn.Module, geometry: torch.Tensor, batch: int) -> int:
    """FLOPs (matmuls, convolutions, attention) of one forward pass over ``batch`` events."""
    device = geometry.device
    x = torch.zeros(batch, model.channels, geometry.shape[-1], device=device)
    label = torch.zeros(batch, 6, device=device)
    t = torch.zeros(batch, dtype=torch.long, device=device)
    model.layout_for(geometry)  # derive the layout outside the counted region
    with FlopCounterMode(display=False) as counter:
        model(x, t, label, geometry)
    return int(counter.get_total_flops())


def forward_flops(model: nn.Module, geometry: torch.Tensor) -> int:
    """Forward FLOPs per event: the cost of one more event in a batch, f(2) - f(1).

    Work shared by the whole batch (embedding the detector's geometry once) is left out, so the
    figure, and the MFU computed from it, is what each event really costs in a large batch.
    """
    return batch_flops(model, geometry, 2) - batch_flops(model, geometry, 1)


def model_cost(config: ModelConfig, geometry: GeometryLike | None = None, channels: int | None = None) -> ModelCost:
    """Parameters and forward FLOPs per event of ``config`` on ``geometry`` (default IceCube), for events
    of ``channels`` per DOM (``DiffusionConfig.event_channels``; default: the default diffusion's).

    Counting runs the model three times on the CPU (seconds for one token per DOM), so costs on the
    default geometry are remembered per config: a bench sweep asks for the same one at every batch size.
    """
    if geometry is None:
        return _default_geometry_cost(config.model_dump_json(), channels)
    return _count(config, geometry, channels)


@cache
def _default_geometry_cost(config_json: str, channels: int | None) -> ModelCost:
    return _count(ModelConfig.model_validate_json(config_json), None, channels)


def _count(config: ModelConfig, geometry: GeometryLike | None, channels: int | None) -> ModelCost:
    positions = torch.from_numpy(geometry_array(geometry)).float()
    scale = positions.abs().max().clamp(min=1e-9)
    model = build_model(config, geometry, channels).eval()
    return ModelCost(count_parameters(model), forward_flops(model, positions / scale))
