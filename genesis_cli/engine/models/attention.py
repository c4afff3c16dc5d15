"""Multi-head self-attention and the adaLN-Zero transformer block (Peebles & Xie 2023, DiT).

Attention runs through torch.nn.functional.scaled_dot_product_attention, which picks the flash or
memory-efficient kernel on GPUs. Each block's adaLN modulation is zero-initialised, so every block
starts as the identity (its gates are 0).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from genesis_cli.engine.models.embeddings import modulate


class Attention(nn.Module):
    """(B, T, C) -> (B, T, C) multi-head self-attention."""

    def __init__(self, hidden: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.proj = nn.Linear(hidden, hidden)
        self.dropout = dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        return self.proj(out.transpose(1, 2).reshape(b, t, c))


class FeedForward(nn.Sequential):
    def __init__(self, hidden: int, mlp_ratio: float, dropout: float = 0.0) -> None:
        inner = int(hidden * mlp_ratio)
        super().__init__(nn.Linear(hidden, inner), nn.GELU(approximate="tanh"), nn.Dropout(dropout),
                         nn.Linear(inner, hidden))


class AdaLNBlock(nn.Module):
    """x + gate * attn(adaLN(x)), then x + gate * mlp(adaLN(x)); shift/scale/gate from c."""

    def __init__(self, hidden: int, heads: int, mlp_ratio: float, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden, heads, dropout)
        self.norm2 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.mlp = FeedForward(hidden, mlp_ratio, dropout)
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 6 * hidden))
        nn.init.zeros_(self.modulation[-1].weight)
        nn.init.zeros_(self.modulation[-1].bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(c).chunk(6, dim=-1)
        x = x + gate1.unsqueeze(1) * self.attn(modulate(self.norm1(x), shift1, scale1))
        return x + gate2.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift2, scale2))
