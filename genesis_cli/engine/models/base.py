"""The model interface every architecture shares: ``model(x_t, t, label, geometry) -> prediction``.

GenesisModel does the detector plumbing once for all architectures: it derives the string grid from
the geometry (once per detector), builds per-DOM features (the event's channels, the label-relative
features of dom_condition.py and the static geometry features), cuts strings into patches of
``patch`` DOMs, embeds timestep and label, runs the architecture's trunk on (B, S, N, hidden) and
maps the result back to (B, C, L) through a zero-initialised head, optionally followed by the
per-DOM MLP shared by all DOMs (``model.dom_head``).

A trunk is an nn.Module with ``forward(h, c, layout)``: grid features h (B, S, N, hidden), the
condition c (B, hidden) and the GridLayout; it returns features of h's shape. Most architectures
are a stack of blocks over one of two views of the grid: ``TokenTrunk`` (a token sequence, for
attention and MLP blocks) and ``GridTrunk`` (channels-first (B, C, S, N), for convolutions).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from genesis_cli.engine.models.dom_condition import CONDITION_FEATURES, DOM_CONTEXT, DomHead, label_relative_features
from genesis_cli.engine.models.embeddings import (
    STATIC_FEATURES,
    ConditionEmbedding,
    OutputHead,
    PatchEmbed,
    static_dom_features,
)
from genesis_cli.engine.models.layout import GridLayout, build_layout
from genesis_cli.settings import ModelConfig


def run_block(block: nn.Module, checkpointing: bool, *args: torch.Tensor) -> torch.Tensor:
    """``block(*args)``, recomputing its activations in the backward pass when checkpointing."""
    if checkpointing and block.training and torch.is_grad_enabled():
        return checkpoint(block, *args, use_reentrant=False)
    return block(*args)


class TokenTrunk(nn.Module):
    """Blocks ``block(tokens (B, S*N, C), c) -> tokens`` applied in turn to the flattened grid."""

    def __init__(self, blocks: list[nn.Module], checkpointing: bool = False) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.checkpointing = checkpointing

    def forward(self, h: torch.Tensor, c: torch.Tensor, layout: GridLayout) -> torch.Tensor:
        b, s, n, hidden = h.shape
        tokens = h.reshape(b, s * n, hidden)
        for block in self.blocks:
            tokens = run_block(block, self.checkpointing, tokens, c)
        return tokens.reshape(b, s, n, hidden)


class GridTrunk(nn.Module):
    """Blocks ``block(x (B, C, S, N), c, adjacency) -> x`` applied in turn, channels first."""

    def __init__(self, blocks: list[nn.Module], checkpointing: bool = False) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.checkpointing = checkpointing

    def forward(self, h: torch.Tensor, c: torch.Tensor, layout: GridLayout) -> torch.Tensor:
        x = h.permute(0, 3, 1, 2)
        for block in self.blocks:
            x = run_block(block, self.checkpointing, x, c, layout.adjacency)
        return x.permute(0, 2, 3, 1)


class GenesisModel(nn.Module):
    """Denoiser for IceCube events, shape in = shape out.

    Args of forward:
        x_t: (B, C, L) noisy normalised signals (C = 3 with the hit channel, else 2).
        t: (B,) diffusion timesteps (integer or continuous).
        label: (B, 6) normalised labels.
        geometry: (3, L) or (B, 3, L) normalised DOM positions (the same detector for all events).
        drop_label: (B,) bool; True replaces the label by the learned null embedding (guidance).
    Returns:
        (B, C, L) prediction (eps or v, as the diffusion is configured).

    ``length_scale`` is the metres per normalised unit of the positions (the detector's half size),
    which the label-relative features need to be physical distances and light delays.
    """

    def __init__(self, config: ModelConfig, trunk: nn.Module, patch: int, channels: int, length_scale: float) -> None:
        super().__init__()
        self.config = config
        self.patch, self.channels, self.length_scale = patch, channels, float(length_scale)
        self.trunk = trunk
        conditioned = CONDITION_FEATURES if config.dom_conditioning else 0
        self.condition = ConditionEmbedding(config.hidden, config.fusion)
        self.patch_embed = PatchEmbed(patch, config.hidden, channels + conditioned)
        self.head = OutputHead(patch, config.hidden, DOM_CONTEXT if config.dom_head else channels)
        self.dom_head = DomHead(DOM_CONTEXT + channels + conditioned, STATIC_FEATURES, config.dom_head, channels) \
            if config.dom_head else None
        self._layout: GridLayout | None = None
        self._layout_key: tuple[object, ...] | None = None

    @torch.compiler.disable
    def layout_for(self, geometry: torch.Tensor) -> GridLayout:
        """The string grid of this detector, derived once per geometry shape and device.

        Deriving it reads the geometry on the host, so it happens on the first call only; the
        detector is assumed fixed for a model (one file format, one detector). It is never traced
        by torch.compile: TorchDynamo 2.11 traces the string detection's per-DOM Python loop
        through its NumPy support and did not finish within minutes (the GPU check found it).
        """
        single = geometry[0] if geometry.dim() == 3 else geometry
        key = (tuple(single.shape), single.device)
        if self._layout is None or self._layout_key != key:
            layout = build_layout(single.detach().float().cpu().numpy(), self.patch, self.config.neighbour_strings)
            self._layout, self._layout_key = layout.to(single.device), key
        return self._layout

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, label: torch.Tensor, geometry: torch.Tensor,
                drop_label: torch.Tensor | None = None) -> torch.Tensor:
        layout = self.layout_for(geometry)
        detector = (geometry[0] if geometry.dim() == 3 else geometry).to(x_t.dtype)  # (3, L): one detector
        static = static_dom_features(detector)  # (1, STATIC_FEATURES, L)
        dynamic = x_t
        if self.config.dom_conditioning:
            relative = label_relative_features(label.to(x_t.dtype), detector, self.length_scale, drop_label)
            dynamic = torch.cat([x_t, relative], dim=1)  # (B, C + K, L)
        h = self.patch_embed(layout.to_grid(dynamic), layout.to_grid(static))  # (B, S, N, hidden)
        c = self.condition(t, label, drop_label)
        h = self.trunk(h, c, layout)
        out = layout.from_grid(self.head(h, c))  # (B, C, L), or (B, DOM_CONTEXT, L) for the DOM head
        if self.dom_head is None:
            return out
        return self.dom_head(torch.cat([out, dynamic], dim=1), static)  # (B, C, L)
