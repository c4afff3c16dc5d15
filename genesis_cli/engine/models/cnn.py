"""CNN: multi-scale convolutions along strings with FiLM conditioning.

Each block runs parallel branches with kernels ``model.kernel_sizes`` (default 3, 5, 7, 9 positions)
along the strings, concatenates them, projects, and mixes in the neighbouring strings.
"""

from __future__ import annotations

import torch
from torch import nn

from genesis_cli.engine.models.base import GridTrunk
from genesis_cli.engine.models.convolution import FiLM, group_norm, mix_neighbours, string_conv
from genesis_cli.settings import ModelConfig


class MultiScaleBlock(nn.Module):
    def __init__(self, channels: int, hidden: int, kernels: list[int], dropout: float) -> None:
        super().__init__()
        width = max(channels // len(kernels), 1)
        self.norm = group_norm(channels)
        self.film = FiLM(hidden, channels)
        self.branches = nn.ModuleList(string_conv(channels, width, k) for k in kernels)
        self.act = nn.SiLU()
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Conv2d(width * len(kernels), channels, 1)
        self.mix = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, h: torch.Tensor, c: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        x = self.act(self.film(self.norm(h), c))
        x = self.proj(self.dropout(self.act(torch.cat([branch(x) for branch in self.branches], dim=1))))
        return h + x + self.mix(mix_neighbours(x, adjacency))


def cnn_trunk(config: ModelConfig) -> GridTrunk:
    return GridTrunk([MultiScaleBlock(config.hidden, config.hidden, config.kernel_sizes, config.dropout)
                      for _ in range(config.depth)], config.gradient_checkpointing)
