"""Generating events to a file, batch by batch (memory bounded), with provenance.

Ctrl-C stops at the next batch and keeps a valid file holding the events written so far (attribute
``interrupted``); the output follows the input format (npe, ns; no-hit DOMs as in the training file),
with the labels used, the detector geometry and the sampling settings as attributes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genesis_cli.engine.data.writer import EventWriter
from genesis_cli.engine.interrupts import deferred_interrupts
from genesis_cli.engine.memory import reuse_freed_batch_memory
from genesis_cli.engine.sampling.generator import TrainedGenerator
from genesis_cli.engine.sampling.provenance import LabelSource, provenance


@dataclass(frozen=True)
class SamplingSummary:
    path: Path
    events: int
    seconds: float
    interrupted: bool

    @property
    def events_per_second(self) -> float:
        return self.events / max(self.seconds, 1e-9)


def sample_to_file(generator: TrainedGenerator, labels: np.ndarray, out: Path, *, batch_size: int, seed: int,
                   sampler: str | None = None, steps: int | None = None, guidance_scale: float | None = None,
                   overwrite: bool = False, progress: Callable[[int], None] | None = None,
                   label_source: LabelSource | None = None) -> SamplingSummary:
    """Generate events for ``labels`` into ``out``; sampler, steps and guidance default to the checkpoint's config.
    ``label_source`` says where the labels came from, for the file's provenance (provenance.py)."""
    d = generator.config.diffusion
    sampler = sampler or d.sampler
    steps = steps or d.sampling_steps
    guidance_scale = d.guidance_scale if guidance_scale is None else guidance_scale
    attrs = provenance(generator.path, generator.record, label_source or LabelSource(), sampler=sampler,
                       steps=steps if sampler != "ddpm" else generator.diffusion.timesteps,
                       guidance_scale=guidance_scale, seed=seed, batch_size=batch_size, device=generator.device,
                       precision=generator.precision)
    attrs["architecture"] = generator.config.model.architecture
    reuse_freed_batch_memory()
    torch_generator = torch.Generator(generator.device).manual_seed(seed)
    started = time.perf_counter()
    interrupted = False
    with deferred_interrupts() as interrupt, EventWriter(out, generator.geometry, attrs=attrs, overwrite=overwrite,
                                                          no_hit_time=generator.normalizer.no_hit_time) as writer:
        try:
            for start in range(0, len(labels), batch_size):
                interrupt.check()
                batch = labels[start:start + batch_size]
                events = generator.generate(batch, sampler=sampler, steps=steps, guidance_scale=guidance_scale,
                                            generator=torch_generator)
                writer.append(events, batch.astype(np.float32))
                if progress is not None:
                    progress(writer.count)
        except KeyboardInterrupt:
            interrupted = True
            if writer.count == 0:
                raise  # nothing worth keeping: the writer deletes the partial file
        path = writer.finish(keep_existing=interrupted, interrupted=interrupted)  # a partial file never replaces a whole one
    return SamplingSummary(path, writer.count, time.perf_counter() - started, interrupted)
