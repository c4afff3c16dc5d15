"""Resolving the configured device (auto | cpu | cuda | cuda:N) to a torch.device, and a rank's GPU."""

from __future__ import annotations

import torch

from genesis_cli.engine.runtime.distributed import Distributed
from genesis_cli.errors import UsageError


def resolve_device(spec: str | torch.device | None) -> torch.device:
    """'auto' (or None) picks the first GPU when one is present, else the CPU."""
    if isinstance(spec, torch.device):
        return spec
    if spec is None or spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(spec)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"device {spec!r}: no CUDA GPU is available here", hint="use --device cpu or auto")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(f"device {spec!r}: only {torch.cuda.device_count()} GPU(s) present")
    return device


def training_device(spec: str | None, dist: Distributed) -> torch.device:
    """The configured device; under a multi-process launch on GPUs, this rank's own GPU (LOCAL_RANK)."""
    device = resolve_device(spec)
    if dist.world > 1 and device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(device)
    return device
