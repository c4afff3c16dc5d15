"""The spread benchmark: a trained run's event-to-event spread at fixed labels against the simulator's.

Takes the first ``labels`` labels of a file written by `genesis simulate` (the held-out file of the
fidelity benchmark), simulates ``draws`` events for each with the file's own simulation settings
(its kind mix and detector response, as `genesis simulate --labels-from` does) and generates as
many with the run, then compares per-label variances (evaluation/spread.py). ``plan`` changes the
sampler, steps or guidance, so that what narrows the spread can be measured without training again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from genesis_cli.engine.evaluation.spread import SpreadReport, repeat_labels, spread_ratios
from genesis_cli.engine.runs.store import sampling_checkpoint
from genesis_cli.engine.sampling.generate import SamplingPlan
from genesis_cli.engine.sampling.generator import TrainedGenerator
from genesis_cli.engine.simulation.from_labels import read_conditions
from genesis_cli.engine.simulation.simulator import EventSimulator
from genesis_cli.settings.simulation import SimulationConfig

SIMULATION_SEED_OFFSET = 5000  # the spread's simulation draws differ from the file's own events


@dataclass(frozen=True)
class SpreadPlan:
    run: Path  # a run directory or checkpoint
    labels_file: Path  # a file written by genesis simulate
    labels: int = 20
    draws: int = 100
    seed: int = 1
    device: str | None = "auto"
    sampler: str | None = None  # None: the run's own sampling settings
    steps: int | None = None
    guidance_scale: float | None = None
    raw_weights: bool = False  # the training weights instead of their EMA (what EMA does to the spread)


@dataclass(frozen=True)
class SpreadResult:
    report: SpreadReport
    sampling: SamplingPlan
    seconds: float


def measure_spread(plan: SpreadPlan, say: Callable[[str], None] = print,
                   generator: TrainedGenerator | None = None) -> SpreadResult:
    """Simulate and generate ``plan.draws`` events for each of ``plan.labels`` labels and compare their spreads;
    ``generator``: the run already loaded (with its EMA weights), so that it is not loaded and compiled again."""
    started = time.perf_counter()
    conditions = read_conditions(plan.labels_file, limit=plan.labels)
    rows = repeat_labels(conditions.labels, plan.draws)
    simulation = SimulationConfig(**{**conditions.settings, "events": len(rows),
                                     "seed": plan.seed + SIMULATION_SEED_OFFSET})
    simulator = EventSimulator(conditions.geometry, simulation)
    simulated = np.concatenate([batch.signals for batch in simulator.batches_for(rows)])
    if generator is None or plan.raw_weights:
        generator = TrainedGenerator.load(sampling_checkpoint(plan.run), plan.device, ema=not plan.raw_weights)
    if not np.allclose(generator.geometry.positions, conditions.geometry.positions, atol=1e-3):
        raise ValueError(f"{plan.labels_file}: its DOMs are not the run's detector ({plan.run})")
    sampling = SamplingPlan.of(generator.config)
    sampling = replace(sampling, seed=plan.seed, sampler=plan.sampler or sampling.sampler,
                       steps=plan.steps or sampling.steps,
                       guidance_scale=sampling.guidance_scale if plan.guidance_scale is None else plan.guidance_scale)
    say(f"generating {len(rows):,} events ({plan.labels} labels x {plan.draws} draws) with {sampling.sampler}, "
        f"{sampling.steps} steps, guidance {sampling.guidance_scale:g}")
    torch_generator = torch.Generator(generator.device).manual_seed(sampling.seed)
    generated = np.concatenate([
        generator.generate(rows[start:start + sampling.batch_size], sampler=sampling.sampler, steps=sampling.steps,
                           guidance_scale=sampling.guidance_scale, generator=torch_generator)
        for start in range(0, len(rows), sampling.batch_size)])
    report = spread_ratios(generated, simulated, rows, conditions.geometry.positions, plan.draws, seed=plan.seed)
    return SpreadResult(report, sampling, time.perf_counter() - started)
