"""Hybrid: convolutions along strings for local structure, attention across strings for global.

Each layer is a residual convolution block on the (S, N) grid followed by an adaLN-Zero transformer
block over one token per string (the mean over its positions); the attention output is broadcast
back to every position of its string.
"""

from __future__ import annotations

import torch
from torch import nn

from genesis_cli.engine.models.attention import AdaLNBlock
from genesis_cli.engine.models.base import run_block
from genesis_cli.engine.models.convolution import ResidualConvBlock
from genesis_cli.engine.models.layout import GridLayout
from genesis_cli.settings import ModelConfig


class HybridTrunk(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            ResidualConvBlock(config.hidden, config.hidden, config.kernel_size, config.dropout, mix=False)
            for _ in range(config.depth))
        self.attention = nn.ModuleList(
            AdaLNBlock(config.hidden, config.heads, config.mlp_ratio, config.dropout) for _ in range(config.depth))
        self.checkpointing = config.gradient_checkpointing

    def forward(self, h: torch.Tensor, c: torch.Tensor, layout: GridLayout) -> torch.Tensor:
        x = h.permute(0, 3, 1, 2)  # (B, C, S, N)
        for conv, attend in zip(self.convs, self.attention):
            x = run_block(conv, self.checkpointing, x, c, layout.adjacency)
            strings = x.mean(dim=3).transpose(1, 2)  # (B, S, C): one token per string
            x = x + (run_block(attend, self.checkpointing, strings, c) - strings).transpose(1, 2).unsqueeze(-1)
        return x.permute(0, 2, 3, 1)
