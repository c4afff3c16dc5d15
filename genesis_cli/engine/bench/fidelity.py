"""The fidelity benchmark: how physically right are the events a preset learns within a budget?

One run: simulate a training file and a held-out file with different seeds, train a preset for a
fixed budget, generate events for the held-out labels, judge them with `genesis evaluate` (with the
training file, so memorised events fail), and report one row of physics beside the simulation's own
values (hits per event, charges, CoG to vertex, LineFit angle, charge-vs-energy slope) with the
judge's AUCs and verdict, then its physics shifts and copy checks.

Two data styles: ``toy`` (the built-in simulator's defaults: mixed cascades and tracks, 1 TeV-1 PeV,
log-uniform) and ``original`` (the original GENESIS files' style: the detector's DOMs in a shuffled
file order and PeV energies). Every file lands in ``out_dir``; ``reuse`` keeps what is there, so
a row can be re-judged after the evaluator changes without training again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from genesis_cli.engine import workflows
from genesis_cli.engine.atomic_files import write_text_atomic
from genesis_cli.engine.detector import Geometry, icecube86_geometry, load_geometry
from genesis_cli.engine.evaluation.copies import MEMORISED
from genesis_cli.engine.evaluation.physics import PhysicsSummary, summarise
from genesis_cli.engine.evaluation.report import EvaluationReport
from genesis_cli.engine.runs.checkpoint import load_checkpoint
from genesis_cli.engine.runs.store import FINAL
from genesis_cli.engine.sampling.generator import TrainedGenerator
from genesis_cli.engine.simulation.runner import simulate_to_file
from genesis_cli.engine.training import session
from genesis_cli.errors import UsageError
from genesis_cli.settings import resolve_config
from genesis_cli.settings.simulation import SimulationConfig

DATA_STYLES = ("toy", "original")
#: The original GENESIS files: PeV-scale muon-neutrino energies (1.1e6 - 9.7e7 GeV in those files).
ORIGINAL_ENERGY_GEV = (1e6, 1e8)
HELDOUT_SEED_OFFSET = 1000
GEOMETRY_SHUFFLE_SEED = 2024
EPOCHS_UNBOUNDED = 1_000_000  # the budget, not the preset's epoch count, ends a benchmark run


@dataclass(frozen=True)
class FidelityPlan:
    preset: str
    budget: str = "30m"  # steps ("3000") or time ("30m"), as genesis compare --budget
    train_events: int = 20_000
    heldout_events: int = 2_000
    out_dir: Path = Path("fidelity")
    data_style: str = "toy"
    geometry: Path | None = None  # a geometry CSV instead of the built-in IceCube
    seed: int = 1
    device: str = "cpu"
    overrides: tuple[str, ...] = ()
    reuse: bool = False
    tag: str = ""  # names this run's checkpoints and outputs in out_dir beside others on the same files (a curve)
    spread_labels: int = 20  # the spread at fixed labels (bench/spread.py); 0: not measured
    spread_draws: int = 100
    keep_inputs: bool = False  # the training and held-out files in out_dir are this plan's (a curve's later runs)

    def named(self, stem: str, suffix: str = "") -> str:
        """A file or folder name of this run: ``stem`` (and the tag) + ``suffix``."""
        return f"{stem}-{self.tag}{suffix}" if self.tag else f"{stem}{suffix}"


@dataclass
class FidelityResult:
    preset: str
    budget: str
    data_style: str
    steps: int
    training_seconds: float
    train_events_per_second: float
    sampling_events_per_second: float
    simulation: PhysicsSummary
    generated: PhysicsSummary
    aucs: dict[str, float]
    verdict: str
    verdict_line: str
    shifts: dict[str, str]  # physics shift name -> "value +- error unit"
    copies: dict[str, str]  # copy check name -> share of generated events (verdict); the memorisation test
    spread: dict[str, str] = field(default_factory=dict)  # observable -> variance ratio at fixed labels, gen/sim
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def detector_for(plan: FidelityPlan) -> Geometry:
    geometry = load_geometry(plan.geometry) if plan.geometry else icecube86_geometry()
    return geometry.shuffled(GEOMETRY_SHUFFLE_SEED) if plan.data_style == "original" else geometry


def simulation_config(plan: FidelityPlan, events: int, seed: int) -> SimulationConfig:
    energies = {"energy_min_gev": ORIGINAL_ENERGY_GEV[0], "energy_max_gev": ORIGINAL_ENERGY_GEV[1]} \
        if plan.data_style == "original" else {}
    return SimulationConfig(events=events, seed=seed, **energies)


def simulate_inputs(plan: FidelityPlan, say: Callable[[str], None] = print) -> tuple[Path, Path]:
    """The training and held-out files in ``plan.out_dir`` (different seeds), simulated unless ``reuse``
    finds them; returns their paths. The GPU check calls this ahead, on the CPU, while it times the GPU."""
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    detector = detector_for(plan)
    train_file, heldout_file = plan.out_dir / "train.h5", plan.out_dir / "heldout.h5"
    for path, events, seed in ((train_file, plan.train_events, plan.seed),
                               (heldout_file, plan.heldout_events, plan.seed + HELDOUT_SEED_OFFSET)):
        if not ((plan.reuse or plan.keep_inputs) and path.exists()):
            summary = simulate_to_file(path, simulation_config(plan, events, seed), detector, overwrite=True)
            say(f"simulated {summary.events:,} events into {path} in {summary.seconds:.0f} s")
    return train_file, heldout_file


def run_fidelity(plan: FidelityPlan, say: Callable[[str], None] = print) -> FidelityResult:
    if plan.data_style not in DATA_STYLES:
        raise UsageError(f"data style {plan.data_style!r}: choose {', '.join(DATA_STYLES)}")
    out = plan.out_dir
    train_file, heldout_file = simulate_inputs(plan, say)
    run_dir = out / "checkpoints" / plan.named("fidelity")
    final = run_dir / FINAL
    if plan.reuse and final.exists():
        saved = load_checkpoint(final)
        steps, seconds = saved.global_step, saved.training_seconds
        train_rate = float("nan")
        say(f"reusing the run in {run_dir} ({steps:,} steps)")
    else:
        steps, seconds, train_rate = _train(plan, train_file, say)
    generated = out / plan.named("generated", ".h5")
    sampling_rate = float("nan")
    generator = None
    if not (plan.reuse and generated.exists()):
        generator, sampled = workflows.sample_heldout(run_dir, heldout_file, generated, seed=plan.seed,
                                                      device=plan.device)
        sampling_rate = sampled.events_per_second
        say(f"generated {sampled.events:,} events in {sampled.seconds:.0f} s")
    report = workflows.evaluate(heldout_file, generated, seed=plan.seed,
                                report_json=out / plan.named("evaluation", ".json"), training=train_file)
    result = FidelityResult(
        plan.preset, plan.budget, plan.data_style, steps, seconds, train_rate, sampling_rate,
        summarise(report.real), summarise(report.generated, report.real), aucs_of(report), report.overall_verdict,
        report.overall.line, {s.name: s.text() for s in report.shifts}, copies_of(report),
        _spread(plan, run_dir, heldout_file, say, generator),
        {"train": str(train_file), "heldout": str(heldout_file), "run": str(run_dir), "generated": str(generated)})
    write_text_atomic(out / plan.named("fidelity", ".json"), json.dumps(result.to_dict(), indent=2, default=float))
    return result


def run_curve(plan: FidelityPlan, budgets: tuple[str, ...], say: Callable[[str], None] = print) -> list[FidelityResult]:
    """Quality against training budget: one run per budget (each with its whole learning-rate schedule,
    as a user with that budget would train), all on the same files, tagged by budget in ``plan.out_dir``."""
    simulate_inputs(plan, say)
    return [run_fidelity(replace(plan, budget=budget, tag=budget, keep_inputs=True), say) for budget in budgets]


def _spread(plan: FidelityPlan, run_dir: Path, heldout_file: Path, say: Callable[[str], None],
            generator: TrainedGenerator | None) -> dict[str, str]:
    """Variance ratios at fixed labels (generated over simulated) for the held-out file's first labels, with
    the ``generator`` that sampled the held-out labels when there is one (loaded and compiled once)."""
    if plan.spread_labels <= 0:
        return {}
    from genesis_cli.engine.bench.spread import SpreadPlan, measure_spread

    measured = measure_spread(SpreadPlan(run_dir, heldout_file, plan.spread_labels, plan.spread_draws,
                                         plan.seed, plan.device), say, generator)
    return {r.name: r.text() for r in measured.report.ratios}


def _train(plan: FidelityPlan, train_file: Path, say: Callable[[str], None]) -> tuple[int, float, float]:
    from genesis_cli.engine.comparison import budget_flags, parse_budget

    out = plan.out_dir
    config = resolve_config(plan.preset, flags={
        "data.h5_path": str(train_file), "experiment_name": plan.named("fidelity"), "seed": plan.seed,
        "device": plan.device,
        "checkpoint_dir": str(out / "checkpoints"), "log_dir": str(out / "logs"),
        "training.num_epochs": EPOCHS_UNBOUNDED, **budget_flags(parse_budget(plan.budget))},
        overrides=list(plan.overrides)).config
    prepared = session.prepare_new_run(config, overwrite=True)
    say(f"training {plan.preset} for {plan.budget} on {train_file}")
    started = time.perf_counter()
    trained = workflows.train(prepared)
    say(f"trained {trained.steps:,} steps in {time.perf_counter() - started:.0f} s")
    return trained.steps, trained.training_seconds, trained.events_per_second


def copies_of(report: EvaluationReport) -> dict[str, str]:
    """Each copy check as "share (verdict)", and the nearest-neighbour memorisation test as its AUC."""
    copies = {c.name: f"{c.fraction:.1%} ({c.verdict})" for c in report.copies}
    if report.memorisation is not None:
        m = report.memorisation
        copies[MEMORISED] = f"nearest-neighbour AUC {m.auc:.3f} ± {m.sigma:.3f} ({m.verdict})"
    return copies


def aucs_of(report: EvaluationReport) -> dict[str, float]:
    return {row.metric: row.value for row in report.summary if "AUC" in row.metric}


#: The row's physics columns: summary field -> column title.
ROW_COLUMNS = {
    "hits_per_event": "hits/event", "weak_hit_fraction": "hits < 0.5 PE", "npe_median": "npe median",
    "npe_q99": "npe 99%", "early_hit_fraction": "early hits", "median_cog_to_vertex_m": "CoG-vertex m",
    "cog_x_label_correlation": "corr(CoG x, x)", "median_linefit_angle_deg": "LineFit angle",
    "charge_vs_energy_slope": "Q-E slope",
}


def markdown_row(result: FidelityResult, *, header: bool = False) -> str:
    """One Markdown table row (``header``: with the header lines): each quantity as generated (simulation)."""
    cells = [result.preset, result.data_style, result.budget, f"{result.steps:,}"]
    cells += [f"{value:.3f}" for value in result.aucs.values()]
    for name in ROW_COLUMNS:
        gen, sim = getattr(result.generated, name), getattr(result.simulation, name)
        cells.append(f"{short_number(gen)} ({short_number(sim)})")
    cells.append(result.verdict)
    row = "| " + " | ".join(cells) + " |"
    if not header:
        return row
    titles = ["preset", "data", "budget", "steps", *result.aucs.keys(), *ROW_COLUMNS.values(), "verdict"]
    return "| " + " | ".join(titles) + " |\n|" + "---|" * len(titles) + "\n" + row


def curve_table(results: list[FidelityResult]) -> str:
    """Markdown: one row per budget of a curve, with its training minutes, the AUCs and the verdict."""
    if not results:
        return ""
    titles = ["budget", "steps", "training min", *results[0].aucs.keys(), "verdict"]
    rows = ["| " + " | ".join(titles) + " |", "|" + "---|" * len(titles)]
    for r in results:
        cells = [r.budget, f"{r.steps:,}", f"{r.training_seconds / 60:.1f}", *(f"{v:.3f}" for v in r.aucs.values()),
                 r.verdict]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def short_number(value: float) -> str:
    """A table cell's number: thousands separators from 100, three decimals below 1, "-" for NaN."""
    if value != value:  # NaN
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"
