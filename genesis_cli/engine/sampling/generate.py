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

from genesis_cli.engine.data.eventfile import EventIds
from genesis_cli.engine.data.writer import EventWriter, WrittenEvents
from genesis_cli.engine.interrupts import deferred_interrupts
from genesis_cli.engine.memory import reuse_freed_batch_memory
from genesis_cli.engine.sampling.generator import TrainedGenerator
from genesis_cli.engine.sampling.provenance import LabelSource, distillation_provenance, provenance
from genesis_cli.settings import ExperimentConfig


@dataclass(frozen=True)
class SamplingPlan:
    """How a file of events is generated, read from validated settings (the diffusion section's sampler,
    steps and guidance; the sampling section's batch size and seed): the one place defaults are taken."""

    sampler: str
    steps: int  # of ddim and the DPM-Solvers; ddpm takes every step of the schedule
    guidance_scale: float
    batch_size: int
    seed: int

    @classmethod
    def of(cls, config: ExperimentConfig) -> SamplingPlan:
        d, s = config.diffusion, config.sampling
        return cls(d.sampler, d.sampling_steps, d.guidance_scale, s.batch_size, s.seed)


@dataclass(frozen=True)
class SamplingSummary(WrittenEvents):
    interrupted: bool


def sample_to_file(generator: TrainedGenerator, labels: np.ndarray, out: Path, plan: SamplingPlan | None = None, *,
                   overwrite: bool = False, progress: Callable[[int], None] | None = None,
                   label_source: LabelSource | None = None, ids: EventIds | None = None) -> SamplingSummary:
    """Generate events for ``labels`` (B, 6) into ``out`` as ``plan`` says (None: the checkpoint's settings).
    ``label_source`` says where the labels came from, for the file's provenance (provenance.py); ``ids``
    (one row per label) are the label source's event identities, written as the file's event_ids."""
    if ids is not None and len(ids) != len(labels):
        raise ValueError(f"{len(ids)} event ids for {len(labels)} labels")
    plan = plan or SamplingPlan.of(generator.config)
    sampler, steps, guidance_scale, batch_size = plan.sampler, plan.steps, plan.guidance_scale, plan.batch_size
    attrs = provenance(generator.path, generator.record, label_source or LabelSource(), sampler=sampler,
                       steps=steps if sampler != "ddpm" else generator.diffusion.timesteps,
                       guidance_scale=guidance_scale, seed=plan.seed, batch_size=batch_size, device=generator.device,
                       precision=generator.precision)
    attrs["architecture"] = generator.config.model.architecture
    attrs.update(distillation_provenance(generator.config.distill))
    if generator.dark_noise is not None:
        attrs["dark_noise"] = "measured from the training events; added before each event's light (data.dark_noise)"
    reuse_freed_batch_memory()
    torch_generator = torch.Generator(generator.device).manual_seed(plan.seed)
    started = time.perf_counter()
    interrupted = False
    with deferred_interrupts() as interrupt, EventWriter(out, generator.geometry, attrs=attrs, overwrite=overwrite,
                                                          no_hit_time=generator.normalizer.no_hit_time,
                                                          id_columns=ids.columns if ids else None) as writer:
        try:
            for start in range(0, len(labels), batch_size):
                interrupt.check()
                batch = labels[start:start + batch_size]
                events = generator.generate(batch, sampler=sampler, steps=steps, guidance_scale=guidance_scale,
                                            generator=torch_generator)
                writer.append(events, batch.astype(np.float32),
                              ids=ids.values[start:start + batch_size] if ids is not None else None)
                if progress is not None:
                    progress(writer.count)
        except KeyboardInterrupt:
            interrupted = True
            if writer.count == 0:
                raise  # nothing worth keeping: the writer deletes the partial file
        path = writer.finish(keep_existing=interrupted, interrupted=interrupted)  # a partial file never replaces a whole one
    return SamplingSummary(path, writer.count, time.perf_counter() - started, interrupted)
