"""Mixed precision: which autocast dtype a config runs in on a device, and the context that applies it.

bf16 where the GPU has it (fp32's range, no loss scaling); fp16 with a gradient scaler
(training/step.py) where it does not; full precision on the CPU, where autocast does not pay.
Training, sampling and the benchmarks all decide here, so they run in the same precision.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import torch

from genesis_cli.settings import ExperimentConfig


def autocast_dtype(config: ExperimentConfig, device: torch.device) -> torch.dtype | None:
    """training.amp_dtype on GPUs (auto: bf16 where supported, fp16 otherwise); None (full precision) on CPU
    or with use_amp off."""
    t = config.training
    if not t.use_amp or device.type != "cuda":
        return None
    if t.amp_dtype == "fp16" or (t.amp_dtype == "auto" and not torch.cuda.is_bf16_supported()):
        return torch.float16
    return torch.bfloat16


def precision_name(dtype: torch.dtype | None) -> str | None:
    """'bfloat16' or 'float16' for reports; None for full precision."""
    return str(dtype).replace("torch.", "") if dtype is not None else None


def autocast(device: torch.device, dtype: torch.dtype | None) -> AbstractContextManager[object]:
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()
