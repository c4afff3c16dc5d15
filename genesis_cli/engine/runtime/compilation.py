"""torch.compile for training and sampling: when it is on, what a failure says, and the compiled denoiser.

Sampling calls the same network 2 x steps times per batch (both guidance passes in one call) at a
fixed batch size, so on a GPU it is launch-bound: compiled with ``mode="reduce-overhead"`` the
denoiser runs as CUDA graphs (torch.compile's cudagraph trees), replayed at every step. A compiler
that fails never stops a command: the message says so and the eager model carries on, with the same
numbers (nothing random happens inside the network, so the samples do not change).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn


def compile_wanted(setting: bool | None, device: torch.device) -> bool:
    """A compile setting where null means: on for CUDA, off on CPU."""
    return setting if setting is not None else device.type == "cuda"


def compile_failure(exc: BaseException, key: str = "training.compile") -> str:
    """The one-line message shown when torch.compile fails (the eager model carries on)."""
    first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    return (f"torch.compile failed ({type(exc).__name__}: {first_line}); continuing without compilation "
            f"(set {key}: false to skip it)")


class CompiledDenoiser(nn.Module):
    """``model`` compiled for inference, with the eager model as its fallback.

    Outputs are cloned: a CUDA-graph replay overwrites its output buffers, and the multistep samplers
    keep the previous step's output (DPM-Solver++). ``on_message`` hears of a compilation failure.
    """

    def __init__(self, model: nn.Module, *, mode: str, backend: str,
                 on_message: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.eager = model
        self.cuda_graphs = mode == "reduce-overhead"
        self.on_message = on_message or (lambda text: None)
        self.compiled: Callable[..., torch.Tensor] | None = None
        try:
            self.compiled = torch.compile(model, mode=mode, backend=backend, dynamic=False)
        except Exception as exc:  # noqa: BLE001 - an unknown backend or mode
            self.on_message(compile_failure(exc, "sampling.compile"))

    def forward(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        if self.compiled is None:
            return self.eager(*args, **kwargs)
        try:
            if self.cuda_graphs:
                torch.compiler.cudagraph_mark_step_begin()
            return self.compiled(*args, **kwargs).clone()
        except Exception as exc:  # noqa: BLE001 - compiler errors come in many types
            self.compiled = None
            self.on_message(compile_failure(exc, "sampling.compile"))
            return self.eager(*args, **kwargs)

    @property
    def is_compiled(self) -> bool:
        return self.compiled is not None
