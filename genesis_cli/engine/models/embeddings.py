"""Inputs and outputs shared by every architecture: condition, patches, output head.

- Timesteps: sinusoidal features + MLP (Ho et al. 2020; DiT's TimestepEmbedder).
- Labels (normalised, see data/normalization.py) plus sin/cos of the physical azimuth and the cosine
  of the zenith -> MLP. Classifier-free guidance (Ho & Salimans 2022) replaces dropped labels by a
  LEARNED null embedding: an all-zero label would be a real, in-range label (the original GENESIS
  bug).
- Fusion of timestep and label: SUM (c = t + y, as DiT) or FiLM (c = t * (1 + gamma(y)) + beta(y)).
- Patches: per DOM the event's channels (npe, time and the hit channel), the label-relative features
  (dom_condition.py), then [valid, xyz, Fourier(xyz)] (Tancik et al. 2020); P DOMs per position.
- Output head: adaLN-modulated LayerNorm and a zero-initialised Linear (DiT's FinalLayer), so every
  model predicts exactly 0 at initialisation; it gives each DOM its outputs, or the context of the
  per-DOM head (dom_condition.DomHead).
"""

from __future__ import annotations

import math

import torch
from torch import nn

#: Width of the sinusoidal timestep features (DiT's frequency_embedding_size).
TIMESTEP_FREQUENCIES = 256
#: Octaves of the geometry Fourier features: wavelengths from the detector size down to ~1/8 of it.
GEOMETRY_OCTAVES = 4
#: Per-DOM features shared by all events: valid flag, xyz, and sin/cos of xyz at each octave.
STATIC_FEATURES = 1 + 3 + 3 * 2 * GEOMETRY_OCTAVES
LABEL_FEATURES = 6 + 3


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """adaLN: x (B, T, C) scaled and shifted by per-sample (B, C) vectors."""
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


def timestep_features(t: torch.Tensor, dim: int = TIMESTEP_FREQUENCIES, max_period: float = 10_000.0) -> torch.Tensor:
    """(B,) float timesteps -> (B, dim) sinusoidal features (continuous t allowed)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def label_features(label: torch.Tensor) -> torch.Tensor:
    """(B, 6) normalised labels -> (B, 9): the labels plus periodic features of the angles."""
    zenith = (label[:, 1] + 1) * (math.pi / 2)
    azimuth = (label[:, 2] + 1) * math.pi
    return torch.cat([label, torch.cos(zenith)[:, None], torch.sin(azimuth)[:, None], torch.cos(azimuth)[:, None]], dim=1)


class ConditionEmbedding(nn.Module):
    """(t, label, drop mask) -> conditioning vector c (B, hidden)."""

    def __init__(self, hidden: int, fusion: str) -> None:
        super().__init__()
        self.fusion = fusion
        self.time = nn.Sequential(nn.Linear(TIMESTEP_FREQUENCIES, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.label = nn.Sequential(nn.Linear(LABEL_FEATURES, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.null_label = nn.Parameter(torch.randn(hidden) * 0.02)
        self.film = nn.Linear(hidden, 2 * hidden) if fusion == "FiLM" else None
        if self.film is not None:
            nn.init.zeros_(self.film.weight)
            nn.init.zeros_(self.film.bias)

    def forward(self, t: torch.Tensor, label: torch.Tensor, drop_label: torch.Tensor | None = None) -> torch.Tensor:
        t_emb = self.time(timestep_features(t))
        y_emb = self.label(label_features(label))
        if drop_label is not None:
            y_emb = torch.where(drop_label[:, None], self.null_label.to(y_emb.dtype).expand_as(y_emb), y_emb)
        if self.film is None:
            return t_emb + y_emb
        gamma, beta = self.film(y_emb).chunk(2, dim=-1)
        return t_emb * (1 + gamma) + beta + y_emb


def geometry_features(geometry: torch.Tensor) -> torch.Tensor:
    """(B, 3, L) normalised positions -> (B, 3 + 6 * octaves, L) with Fourier features."""
    scales = (2.0 ** torch.arange(GEOMETRY_OCTAVES, device=geometry.device, dtype=geometry.dtype)) * math.pi
    angles = geometry[:, :, None, :] * scales[None, None, :, None]  # (B, 3, K, L)
    fourier = torch.cat([torch.sin(angles), torch.cos(angles)], dim=2).flatten(1, 2)
    return torch.cat([geometry, fourier], dim=1)


def static_dom_features(geometry: torch.Tensor) -> torch.Tensor:
    """(3, L) normalised positions -> (1, STATIC_FEATURES, L): the valid flag (1 on every real DOM;
    padding becomes 0 on the grid) and the geometry features, the per-DOM inputs shared by all events."""
    geo = geometry.unsqueeze(0)
    return torch.cat([torch.ones_like(geo[:, :1]), geometry_features(geo)], dim=1)


class PatchEmbed(nn.Module):
    """Grid features -> position embeddings (B, S, N, hidden), P DOMs per position.

    One Linear over each patch's per-DOM [dynamic features, valid, xyz, Fourier(xyz)]. The projection
    is split by linearity: the dynamic columns (the event's channels and label-relative features)
    act on the batch (B, F_d, S, D), the static columns (valid flag and geometry, the same for every
    event) on one detector (1, STATIC_FEATURES, S, D), and the two are added with broadcasting. That
    never builds or gathers the (B, F, L) feature tensor, which made up over a third of a small
    model's time, and keeps the parameter (and checkpoints) of the single Linear.
    """

    def __init__(self, patch: int, hidden: int, dynamic: int) -> None:
        super().__init__()
        self.patch = patch
        self.features = dynamic + STATIC_FEATURES
        self.proj = nn.Linear(patch * self.features, hidden)

    def _patches(self, grid: torch.Tensor) -> torch.Tensor:
        """(B, F, S, D) -> (B, S, N, P, F)."""
        b, f, s, d = grid.shape
        return grid.reshape(b, f, s, d // self.patch, self.patch).permute(0, 2, 3, 4, 1)

    def forward(self, signal: torch.Tensor, static: torch.Tensor) -> torch.Tensor:
        """signal (B, F_d, S, D), static (1, STATIC_FEATURES, S, D) -> (B, S, N, hidden)."""
        weight = self.proj.weight.view(-1, self.patch, self.features)  # (hidden, P, F), F ordered as the features
        n_signal = signal.shape[1]
        w_signal = weight[:, :, :n_signal].reshape(weight.shape[0], -1)
        w_static = weight[:, :, n_signal:].reshape(weight.shape[0], -1)
        h = nn.functional.linear(self._patches(signal).flatten(-2), w_signal, self.proj.bias)
        return h + nn.functional.linear(self._patches(static).flatten(-2), w_static)


class OutputHead(nn.Module):
    """(B, S, N, hidden) + c -> (B, C, S, D): adaLN LayerNorm and a zero-initialised Linear."""

    def __init__(self, patch: int, hidden: int, channels: int) -> None:
        super().__init__()
        self.patch, self.channels = patch, channels
        self.norm = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 2 * hidden))
        self.linear = nn.Linear(hidden, patch * channels)
        for layer in (self.modulation[-1], self.linear):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        b, s, n, hidden = h.shape
        shift, scale = self.modulation(c).chunk(2, dim=-1)
        out = self.linear(modulate(self.norm(h.reshape(b, s * n, hidden)), shift, scale))  # (B, S*N, P*C)
        out = out.reshape(b, s, n, self.patch, self.channels).permute(0, 4, 1, 2, 3)
        return out.reshape(b, self.channels, s, n * self.patch)
