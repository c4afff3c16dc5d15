"""Convolution pieces shared by the CNN, ResNet and Hybrid trunks.

Features live on the string grid as (B, C, S, N): convolutions with (1, k) kernels run along each
string only. Neighbouring strings (125 m apart) see the same light, so every block also mixes in
the mean of each string's k nearest strings (one (S, S) matrix product with the layout's
adjacency) at the same depth position.
"""

from __future__ import annotations

import torch
from torch import nn

#: Channel groups of GroupNorm (fewer when the width is small).
NORM_GROUPS = 32


def group_norm(channels: int) -> nn.GroupNorm:
    groups = next(g for g in (NORM_GROUPS, 16, 8, 4, 2, 1) if channels % g == 0)
    return nn.GroupNorm(groups, channels, eps=1e-6)


def string_conv(in_channels: int, out_channels: int, kernel: int) -> nn.Conv2d:
    """A convolution along strings: kernel (1, k), 'same' padding."""
    return nn.Conv2d(in_channels, out_channels, (1, kernel), padding=(0, kernel // 2))


def mix_neighbours(h: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
    """(B, C, S, N) -> mean over each string's nearest strings, same shape."""
    return torch.einsum("bcsn,ts->bctn", h, adjacency.to(h.dtype))


class FiLM(nn.Module):
    """Feature-wise affine modulation from c (Perez et al. 2018), zero-initialised (identity)."""

    def __init__(self, hidden: int, channels: int) -> None:
        super().__init__()
        self.proj = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 2 * channels))
        nn.init.zeros_(self.proj[-1].weight)
        nn.init.zeros_(self.proj[-1].bias)

    def forward(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        scale, shift = self.proj(c)[:, :, None, None].chunk(2, dim=1)
        return h * (1 + scale) + shift


class ResidualConvBlock(nn.Module):
    """norm -> FiLM -> SiLU -> conv -> norm -> SiLU -> conv (zero-init), plus neighbour mixing."""

    def __init__(self, channels: int, hidden: int, kernel: int, dropout: float = 0.0, mix: bool = True) -> None:
        super().__init__()
        self.norm1, self.norm2 = group_norm(channels), group_norm(channels)
        self.film = FiLM(hidden, channels)
        self.conv1 = string_conv(channels, channels, kernel)
        self.conv2 = string_conv(channels, channels, kernel)
        self.mix = nn.Conv2d(channels, channels, 1) if mix else None
        self.dropout = nn.Dropout(dropout)
        self.act = nn.SiLU()
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, h: torch.Tensor, c: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        x = self.conv1(self.act(self.film(self.norm1(h), c)))
        x = self.conv2(self.dropout(self.act(self.norm2(x))))
        if self.mix is not None:
            x = x + self.mix(mix_neighbours(x, adjacency))
        return h + x
