"""``genesis evaluate``: the physics verdict on generated events."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich import box
from rich.table import Table

from genesis_cli.cli.output import console, print_success
from genesis_cli.engine.atomic_files import write_text_atomic

EXAMPLES = (
    "[bold]Examples[/bold]\n\n"
    "  genesis evaluate --real-data data.h5 --generated-data generated.h5\n\n"
    "  genesis evaluate --real-data test.h5 --generated-data dit_samples.h5 --output dit_evaluation.png --json dit.json"
)
COLOURS = {"good": "green", "fair": "yellow", "poor": "red", "n/a": "dim"}


def _fmt(value: float, digits: int = 3) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _verdict(text: str) -> str:
    return f"[{COLOURS.get(text, 'white')}]{text}[/]"


def render(report: Any) -> list[Table]:
    summary = Table("metric", "generated", "real vs real", "verdict", box=box.SIMPLE_HEAD,
                    title=f"{report.n_generated:,} generated vs {report.n_real:,} real events", title_justify="left")
    for row in report.summary:
        summary.add_row(row.metric, _fmt(row.value), _fmt(row.reference), _verdict(row.verdict))
    observables = Table("observable", "W1/σ", "ref", "", "separation", "ref", "", box=box.SIMPLE_HEAD,
                        title="Observables (W1 scaled by the real spread; separation power)", title_justify="left")
    for o in report.observables:
        observables.add_row(o["label"], _fmt(o["w1"]), _fmt(o["w1_reference"]), _verdict(o["w1_verdict"]),
                            _fmt(o["separation"], 4), _fmt(o["separation_reference"], 4), _verdict(o["separation_verdict"]))
    tables = [summary, observables]
    if report.conditional:
        c = report.conditional
        conditional = Table("event by event (same labels)", "real", "generated", box=box.SIMPLE_HEAD,
                            title="Conditional fidelity", title_justify="left")
        conditional.add_row("slope of log10 charge vs log10 energy", _fmt(c["charge_vs_energy_slope_real"]),
                            _fmt(c["charge_vs_energy_slope_generated"]))
        conditional.add_row("median CoG distance to vertex [m]", _fmt(c["median_cog_to_vertex_real_m"], 1),
                            _fmt(c["median_cog_to_vertex_generated_m"], 1))
        conditional.add_row("median LineFit angle to direction [deg]", _fmt(c["median_linefit_angle_real_deg"], 1),
                            _fmt(c["median_linefit_angle_generated_deg"], 1))
        conditional.add_row("charge correlation, same event", "", _fmt(c["charge_correlation"]))
        conditional.add_row("median |Δ log10 charge|, same event", "", _fmt(c["median_abs_log10_charge_difference"]))
        tables.append(conditional)
    return tables


def write_json(report: Any, path: Path) -> None:
    write_text_atomic(path, json.dumps(report.to_dict(), indent=2, default=float))


def evaluate_command(
    real_data: Annotated[Path, typer.Option("--real-data", metavar="REAL.h5", help="Simulated (real) events.")],
    generated_data: Annotated[Path, typer.Option("--generated-data", metavar="GEN.h5", help="Generated events.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", metavar="REPORT.png", help="Multi-panel figure.")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", metavar="METRICS.json", help="Metrics as JSON.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the real-vs-real split and the classifiers.")] = 0,
) -> None:
    """Judge generated events against simulation: the physics verdict.

    Observables, Wasserstein-1, separation power, classifier AUCs (high-level and per-DOM) and a
    Frechet distance, each beside a real-vs-real reference; event by event too when the generated
    file reuses the real labels.
    """
    from genesis_cli.engine.evaluation.plots import plot_report
    from genesis_cli.engine.evaluation.report import evaluate_files

    report = evaluate_files(real_data, generated_data, seed=seed)
    out = console(wide=True)
    for table in render(report):
        out.print(table)
    out.print(f"per-DOM hit probability: mean |difference| {100 * report.per_dom_hit_rate_difference:.1f}% of the "
              f"mean rate · evaluated in {report.seconds:.1f} s")
    if output is not None:
        plot_report(report, output)
        print_success(f"figure written to {output}")
    if json_path is not None:
        write_json(report, json_path)
        print_success(f"metrics written to {json_path}")
