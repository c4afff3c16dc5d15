"""Architecture comparison: same data split, same budget, same labels, same metrics.

For each architecture: train (or take an existing run), sample the held-out test labels, evaluate
against the real test events, and measure parameters, training and sampling speed and peak memory.
Existing runs are found through ``--runs`` or, as in the guide's comparison workflow, at
``checkpoint_dir/<architecture>_experiment``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from genesis_cli.engine import workflows
from genesis_cli.engine.atomic_files import write_text_atomic
from genesis_cli.engine.figures import save_figure, slide_style
from genesis_cli.engine.memory import peak_memory_bytes
from genesis_cli.engine.models import count_parameters, model_cost
from genesis_cli.engine.outputs import Output, check_outputs
from genesis_cli.engine.runs.checkpoint import load_checkpoint
from genesis_cli.engine.runs.reports import TrainingObserver
from genesis_cli.engine.runs.store import BEST, sampling_checkpoint
from genesis_cli.engine.training import session
from genesis_cli.errors import UsageError
from genesis_cli.settings import ExperimentConfig, resolve_config
from genesis_cli.settings.durations import parse_duration
from genesis_cli.settings.presets import preset_for_architecture

#: The AUC axis spans at least chance (0.5) to perfect separation (1.0), so no spread is exaggerated.
AUC_AXIS = (0.45, 1.03)
AUC_HIGH, AUC_PER_DOM, FRECHET = "classifier AUC, high-level", "classifier AUC, per-DOM", "Frechet distance, high-level"
#: A log axis only when its values span at least this ratio: a narrower log axis has no labelled decade
#: and its minor labels repeat one rounded number ("288.8" at every tick).
LOG_AXIS_SPAN = 10.0
_STEPS = re.compile(r"^\s*(\d+)\s*(steps?)?\s*$")


def parse_budget(text: str) -> tuple[int | None, float | None]:
    """'300' or '300steps' -> (300, None); '90s', '5m', '1h30m' -> (None, seconds)."""
    steps = _STEPS.match(text.lower())
    if steps:
        return int(steps.group(1)), None
    try:
        return None, parse_duration(text)
    except ValueError:
        raise UsageError(f"--budget {text!r}: expected steps (300, 300steps) or time (90s, 5m, 1h)") from None


def budget_flags(budget: tuple[int | None, float | None]) -> dict[str, int | float]:
    """The settings a parsed budget sets: training.max_steps or training.time_budget."""
    steps, seconds = budget
    return {"training.max_steps": steps} if steps is not None else {"training.time_budget": seconds}


@dataclass
class ArchitectureResult:
    architecture: str
    run_dir: str
    parameters: int
    forward_gflops_per_event: float
    train_events_per_second: float
    sampling_events_per_second: float
    peak_memory_gib: float  # peak memory while sampling the test labels (GPU allocated, or resident on the CPU)
    best_val_loss: float
    auc_high_level: float
    auc_per_dom: float
    frechet_distance: float
    samples: str
    source: str = ""  # what was compared: "trained for 300" or "existing run"
    test_events: int = 0  # held-out labels sampled and judged
    auc_high_level_error: float = math.nan  # the judge's standard errors at this test size (Hanley-McNeil)
    auc_per_dom_error: float = math.nan
    frechet_reference: float = math.nan  # real vs real at the same sizes: what simulation itself shows


def describe(results: list[ArchitectureResult]) -> str:
    """What a comparison actually did, for its title: 'dit, cnn trained for 300; hybrid existing run; 200 test events'."""
    sources: dict[str, list[str]] = {}
    for r in results:
        sources.setdefault(r.source, []).append(r.architecture)
    done = "; ".join(f"{', '.join(names)} {source}" for source, names in sources.items())
    events = {r.test_events for r in results}
    return f"{done}; {'/'.join(f'{n:,}' for n in sorted(events))} test events"


def _config(architecture: str, data_path: Path, out_dir: Path, budget: tuple[int | None, float | None], seed: int,
            overrides: list[str]) -> ExperimentConfig:
    return resolve_config(preset_for_architecture(architecture), flags={
        "data.h5_path": str(data_path), "experiment_name": f"compare_{architecture}", "seed": seed,
        "checkpoint_dir": str(out_dir / "checkpoints"), "log_dir": str(out_dir / "logs"), **budget_flags(budget)},
        overrides=overrides).config


def _existing(run_dir: Path) -> tuple[float, float]:
    """Training events/s (from metrics.jsonl) and best validation loss of an existing run."""
    rates = []
    metrics = run_dir / "metrics.jsonl"
    if metrics.exists():
        rates = [json.loads(line)["events_per_second"] for line in metrics.read_text().splitlines() if '"kind": "step"' in line]
    best = load_checkpoint(run_dir / BEST).best_loss if (run_dir / BEST).exists() else None
    return (sum(rates) / len(rates) if rates else float("nan")), float(best if best is not None else "nan")


def compare(architectures: list[str], *, out_dir: Path, data_path: Path | None, budget: str, runs: list[Path],
            events: int, seed: int, overrides: list[str], checkpoint_dir: Path, reuse: bool = False,
            observer_for: Callable[[str], TrainingObserver | None] = lambda _: None,
            say: Callable[[str], None] = print, overwrite: bool = False) -> list[ArchitectureResult]:
    """Everything is checked before the first run trains: existing runs, the runs to train and every
    output file (refused when it exists, unless ``overwrite``).

    Existing runs are used only when asked: those given in ``runs``, and the guide's
    ``checkpoint_dir/<arch>_experiment`` runs with ``reuse`` or when there is no data to train on
    (the guide's comparison workflow). Otherwise every architecture trains for ``budget``."""
    given = {}
    for run in runs:
        architecture = load_checkpoint(sampling_checkpoint(run)).settings().model.architecture
        given[architecture] = run if run.is_dir() else run.parent
    steps_seconds = parse_budget(budget)
    existing: dict[str, Path] = {}
    to_train: dict[str, session.PreparedRun] = {}
    for architecture in architectures:
        guide_run = checkpoint_dir / f"{architecture}_experiment"
        guide_ok = (reuse or data_path is None) and (guide_run / BEST).exists()
        run_dir = given.get(architecture) or (guide_run if guide_ok else None)
        if run_dir is not None:
            existing[architecture] = run_dir
        elif data_path is None:
            raise UsageError(f"no run for {architecture} and no data to train on",
                             hint=f"pass --data-path FILE.h5, --runs DIR, or train {guide_run} first")
        else:
            to_train[architecture] = session.prepare_new_run(
                _config(architecture, data_path, out_dir, steps_seconds, seed, overrides), overwrite=overwrite)
    outputs = [out_dir / name for name in ("real_test.h5", "comparison.json", "comparison.png")]
    outputs += [out_dir / f"{a}_{kind}" for a in architectures for kind in ("samples.h5", "evaluation.json")]
    out_dir.mkdir(parents=True, exist_ok=True)
    check_outputs([Output(path, "--output-dir") for path in outputs], {"--data-path": data_path}, overwrite=overwrite)
    results = []
    heldout: Path | None = None
    for architecture in architectures:
        if architecture in existing:
            run_dir = existing[architecture]
            say(f"{architecture}: using the existing run {run_dir} (not trained here: --budget and --set do not "
                "apply to it)")
            train_rate, loss = _existing(run_dir)
            source = "existing run"
        else:
            say(f"{architecture}: training for {budget}")
            trained = workflows.train(to_train[architecture], observer_for(architecture))
            run_dir, train_rate, loss = trained.run_dir, trained.events_per_second, trained.final_loss
            source = f"trained for {budget}"
        if heldout is None:
            config = (to_train[architecture].config if architecture in to_train
                      else load_checkpoint(sampling_checkpoint(run_dir)).settings())
            heldout = workflows.heldout_file(data_path or Path(config.data.h5_path or ""), config,
                                             out_dir / "real_test.h5", events)
        say(f"{architecture}: sampling and judging {architecture}_samples.h5")
        samples = out_dir / f"{architecture}_samples.h5"
        judged = workflows.sample_and_judge(run_dir, heldout, samples, seed=seed,
                                            report_json=out_dir / f"{architecture}_evaluation.json")
        generator, rows = judged.generator, {row.metric: row for row in judged.report.summary}
        high, per_dom, frechet = (rows[name] for name in (AUC_HIGH, AUC_PER_DOM, FRECHET))
        results.append(ArchitectureResult(
            architecture, str(run_dir), count_parameters(generator.diffusion.model),
            model_cost(generator.config.model, generator.geometry,
                       generator.config.diffusion.event_channels).forward_flops_per_event / 1e9,
            train_rate, judged.sampling.events_per_second, round(peak_memory_bytes(generator.device) / 2**30, 3), loss,
            high.value, per_dom.value, frechet.value, str(samples), source, judged.sampling.events,
            high.error, per_dom.error, frechet.reference))
    write_text_atomic(out_dir / "comparison.json", json.dumps([asdict(r) for r in results], indent=2, default=float))
    return results


def plot_tradeoff(results: list[ArchitectureResult], out: Path) -> Path:
    """Quality against speed: the high-level classifier AUC (with the judge's standard error) against
    training events/s, and the Frechet distance (with simulation's own, real vs real, as a dashed line)
    against sampling events/s, one labelled point per architecture. A panel with nothing measured says so."""
    import matplotlib.pyplot as plt

    with slide_style():
        fig, axes = plt.subplots(1, 2, figsize=(13, 5.5), layout="constrained")
        panels = ((axes[0], "training speed", lambda r: (r.train_events_per_second, r.auc_high_level,
                                                           r.auc_high_level_error)),
                  (axes[1], "sampling speed", lambda r: (r.sampling_events_per_second, r.frechet_distance, math.nan)))
        for ax, what, point in panels:
            drawn = []
            for r in results:  # what could not be measured (too few events, a run's speed unknown) is not drawn
                x, y, error = point(r)
                if x > 0 and math.isfinite(y):
                    ax.errorbar(x, y, yerr=error if math.isfinite(error) else None, fmt="o", ms=8, capsize=4, zorder=3)
                    above = len(drawn) % 2 == 0  # neighbours' names alternate above and below their points
                    ax.annotate(r.architecture, (x, y), xytext=(8, 8 if above else -8), textcoords="offset points",
                                va="bottom" if above else "top")
                    drawn.append((x, y))
            missing = [r.architecture for r in results if not point(r)[0] > 0]
            if not drawn:
                ax.text(0.5, 0.5, f"{what} not measured: {', '.join(missing)}\n(existing runs without their "
                        "training records)", transform=ax.transAxes, ha="center", va="center", color="0.4")
                ax.set_xticks([])
                ax.set_yticks([])
            elif missing:
                ax.text(0.02, 0.02, f"{what} not measured: {', '.join(missing)}", transform=ax.transAxes,
                        fontsize=10, color="0.4")
            if drawn:
                _axis_scale(ax.xaxis, [x for x, _ in drawn], ax.set_xscale)
        aucs = [r.auc_high_level + (r.auc_high_level_error if math.isfinite(r.auc_high_level_error) else 0)
                for r in results if math.isfinite(r.auc_high_level)]
        axes[0].axhline(0.5, color="0.5", ls="--", lw=1, label="indistinguishable (0.5)")
        axes[0].set(xlabel="training speed [events/s]", ylabel=f"{AUC_HIGH} (± its standard error)",
                    title="quality vs training speed", ylim=(AUC_AXIS[0], max([AUC_AXIS[1], *(a + 0.02 for a in aucs)])))
        axes[0].legend(loc="lower right", frameon=False)
        references = [r.frechet_reference for r in results if math.isfinite(r.frechet_reference)]
        if references:
            axes[1].axhline(max(references), color="0.5", ls="--", lw=1, label="simulation vs simulation")
            axes[1].legend(loc="best", frameon=False)
        distances = [r.frechet_distance for r in results if math.isfinite(r.frechet_distance)] + references
        axes[1].set(xlabel="sampling speed [events/s]", ylabel="Fréchet distance, high-level features",
                    title="quality vs sampling speed")
        if distances and min(distances) > 0:
            _axis_scale(axes[1].yaxis, distances, axes[1].set_yscale)
        for ax in axes:
            ax.margins(x=0.2, y=0.12)
        return save_figure(fig, out, dpi=110)


def _axis_scale(axis: Any, values: list[float], set_scale: Callable[[str], None]) -> None:
    """A log scale when ``values`` span a decade or more (labels in plain numbers: 6, 20, 300), else linear
    with matplotlib's own ticks."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    positive = [v for v in values if v > 0]
    if not positive or max(positive) / min(positive) < LOG_AXIS_SPAN:
        set_scale("linear")
        return
    set_scale("log")
    axis.set_major_formatter(FuncFormatter(_plain))
    axis.set_minor_formatter(NullFormatter())


def _plain(value: float, _position: object = None) -> str:
    return f"{value:,.4g}"
