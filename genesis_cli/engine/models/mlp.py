"""MLP: a per-position MLP with a global path (a DeepSets-style mean over the detector).

Every position runs the same adaLN-modulated MLP; each block also adds a projection of the mean over
all positions, so information crosses strings through the global summary.
"""

from __future__ import annotations

import torch
from torch import nn

from genesis_cli.engine.models.attention import FeedForward
from genesis_cli.engine.models.base import TokenTrunk
from genesis_cli.engine.models.embeddings import modulate
from genesis_cli.settings import ModelConfig


class MLPBlock(nn.Module):
    def __init__(self, hidden: int, mlp_ratio: float, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.mlp = FeedForward(hidden, mlp_ratio, dropout)
        self.global_path = nn.Linear(hidden, hidden)
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 4 * hidden))
        nn.init.zeros_(self.modulation[-1].weight)
        nn.init.zeros_(self.modulation[-1].bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale, gate, global_gate = self.modulation(c).chunk(4, dim=-1)
        x = x + gate.unsqueeze(1) * self.mlp(modulate(self.norm(x), shift, scale))
        return x + global_gate.unsqueeze(1) * self.global_path(x.mean(dim=1, keepdim=True))


def mlp_trunk(config: ModelConfig) -> TokenTrunk:
    return TokenTrunk([MLPBlock(config.hidden, config.mlp_ratio, config.dropout) for _ in range(config.depth)], config.gradient_checkpointing)
