"""The pipeline the commands share, written once: train -> held-out events -> sample -> evaluate.

`genesis demo` (after simulating a file), `genesis compare` (once per architecture) and the
fidelity benchmark (bench/fidelity.py) are this pipeline with different inputs. Simulation is
engine/simulation/runner.py; the steps here take typed results from one to the next.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from genesis_cli.engine.data.eventfile import EventFile
from genesis_cli.engine.data.splits import split_of
from genesis_cli.engine.data.subset import write_subset
from genesis_cli.engine.evaluation.report import EvaluationReport, evaluate_files
from genesis_cli.engine.memory import reset_peak_memory
from genesis_cli.engine.runs.reports import TrainingObserver
from genesis_cli.engine.runs.store import sampling_checkpoint
from genesis_cli.engine.sampling.conditions import labels_from_file
from genesis_cli.engine.sampling.generate import SamplingPlan, SamplingSummary, sample_to_file
from genesis_cli.engine.sampling.generator import TrainedGenerator
from genesis_cli.engine.training import session
from genesis_cli.engine.training.trainer import Trainer
from genesis_cli.settings import ExperimentConfig
from genesis_cli.settings.evaluation import EvaluationConfig


@dataclass(frozen=True)
class TrainedRun:
    run_dir: Path
    steps: int
    training_seconds: float  # of the whole run
    events_per_second: float  # of this process's training
    final_loss: float  # validation loss of the final weights (training loss without a validation split)


def train(prepared: session.PreparedRun, observer: TrainingObserver | None = None) -> TrainedRun:
    """Train a prepared new run to its end (claiming its directory) and measure it."""
    trainer = Trainer(prepared.config, prepared.run_dir, observer=observer)
    reset_peak_memory(trainer.device)
    session.fit(prepared, trainer)
    loss = trainer.validation_loss() if trainer.data.val is not None else float(trainer.best_loss or float("nan"))
    return TrainedRun(prepared.run_dir, trainer.global_step, trainer.elapsed_seconds,
                      trainer.training_events / max(trainer.training_seconds, 1e-9), loss)


def heldout_file(source: Path, config: ExperimentConfig, out: Path, events: int) -> Path:
    """The first ``events`` held-out events of a run of ``config`` on ``source`` (its test split, or its
    validation split when the test split is empty), written to ``out``: what generated events are judged against."""
    with EventFile(source) as data:
        split = split_of(config, data.n_events)
    chosen = split.test[:events] if len(split.test) else split.val[:events]
    return write_subset(source, chosen, out, overwrite=True)


@dataclass(frozen=True)
class JudgedSample:
    generator: TrainedGenerator
    sampling: SamplingSummary
    report: EvaluationReport


def sample_and_judge(run: Path, heldout: Path, out: Path, *, seed: int, device: str | None = "auto",
                     report_json: Path | None = None,
                     progress: Callable[[int], None] | None = None) -> JudgedSample:
    """Generate events for ``heldout``'s labels into ``out`` and judge them against ``heldout``."""
    generator, sampling = sample_heldout(run, heldout, out, seed=seed, device=device, progress=progress)
    report = evaluate(heldout, out, seed=seed, settings=generator.config.evaluation, report_json=report_json)
    return JudgedSample(generator, sampling, report)


def sample_heldout(run: Path, heldout: Path, out: Path, *, seed: int, device: str | None = "auto",
                   progress: Callable[[int], None] | None = None, steps: int | None = None,
                   guidance_scale: float | None = None) -> tuple[TrainedGenerator, SamplingSummary]:
    """Generate events for ``heldout``'s labels with the run's checkpoint (its best, else its newest)
    into ``out``, with the run's sampling settings (``steps`` and ``guidance_scale`` changed when given) and ``seed``."""
    generator = TrainedGenerator.load(sampling_checkpoint(run), device)
    reset_peak_memory(generator.device)  # the peak of this sampling, not of whatever ran before in the process
    plan = replace(SamplingPlan.of(generator.config), seed=seed)
    plan = replace(plan, steps=steps or plan.steps,
                   guidance_scale=plan.guidance_scale if guidance_scale is None else guidance_scale)
    rows = labels_from_file(heldout)
    return generator, sample_to_file(generator, rows.labels, out, plan, overwrite=True, progress=progress, ids=rows.ids)


def evaluate(real: Path, generated: Path, *, seed: int, settings: EvaluationConfig | None = None,
             report_json: Path | None = None, training: Path | None = None) -> EvaluationReport:
    """`genesis evaluate` of ``generated`` against ``real`` (by the run's evaluation ``settings``; with the
    ``training`` file, memorisation too); the report also as JSON when asked."""
    report = evaluate_files(real, generated, seed=seed, settings=settings, training_path=training)
    if report_json is not None:
        report.save_json(report_json)
    return report
