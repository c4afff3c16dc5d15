"""The original GENESIS configuration, re-created with our own model, for `genesis bench --baseline`.

The original GENESIS scripts' DiT embedded every DOM as a token (5160 tokens per event, 26.6M
attention pairs) and trained under fp16 autocast with a gradient scaler, eagerly, with the unfused
AdamW, on two channels per DOM without per-DOM conditioning. The baseline keeps the chosen preset's
width, depth and heads and changes exactly those things,
so the ratio it reports is the speed-up of our fast path and tokenisation, not of a different model.
On a CPU there is no autocast and the baseline runs in fp32.

The original sampled with all 1000 DDPM steps and two guidance passes per step. Every step costs
the same (one guided model evaluation and a few elementwise updates), so the baseline times
ORIGINAL_TIMED_STEPS of them and scales to the whole schedule instead of running for minutes.
"""

from __future__ import annotations

from collections.abc import Sequence

from genesis_cli.engine.bench.measure import BenchResult
from genesis_cli.settings import ExperimentConfig, derive_config

#: What the original did differently (dotted settings keys); plus the unfused optimizer.
ORIGINAL_SETTINGS = {"model.patch_size": 1, "training.amp_dtype": "fp16", "training.compile": False,
                     "diffusion.hit_channel": False, "model.dom_conditioning": False, "model.dom_head": 0}
ORIGINAL_FUSED_OPTIMIZER = False
#: The original sampled with every DDPM step and classifier-free guidance (two passes per step).
ORIGINAL_GUIDANCE_SCALE = 2.0
#: Steps of the original's sampling actually timed; its cost is that many times the whole step count.
ORIGINAL_TIMED_STEPS = 2


def original_configuration(config: ExperimentConfig) -> ExperimentConfig:
    """``config`` as the original would have run it: one token per DOM, fp16, eager."""
    return derive_config(config, ORIGINAL_SETTINGS, "bench --baseline")


def speedup(results: Sequence[BenchResult], what: str) -> float | None:
    """Best events/s of ours over best events/s of the original for ``what``; None if either is missing."""
    ours = [r.events_per_second for r in results if r.what == what and r.variant == "genesis"]
    original = [r.events_per_second for r in results if r.what == what and r.variant == "original"]
    if not ours or not original:
        return None
    return max(ours) / max(original)
