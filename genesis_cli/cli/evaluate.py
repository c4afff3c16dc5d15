"""``genesis evaluate``: the physics verdict on generated events."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich import box
from rich.table import Table

from genesis_cli.cli.options import ConfigOption, json_option, overwrite_option, seed_option, set_option
from genesis_cli.cli.output import console, print_notice, print_success
from genesis_cli.cli.prompts import confirm_replacing
from genesis_cli.engine.outputs import Output, check_outputs, locate_compare_output
from genesis_cli.settings import resolve_config

EXAMPLES = (
    "[bold]Examples[/bold]\n\n"
    "  genesis evaluate --real-data data.h5 --generated-data generated.h5\n\n"
    "  genesis evaluate --real-data test.h5 --generated-data dit_samples.h5 --output dit_evaluation.png --json dit.json\n\n"
    "  genesis evaluate --real-data test.h5 --generated-data generated.h5 --training-data train.h5"
)
COLOURS = {"good": "green", "fair": "yellow", "poor": "red", "n/a": "dim"}


def _fmt(value: float, digits: int = 3) -> str:
    """A value at ``digits`` decimals; one that rounds to zero reads 0.000, never -0.000."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value if round(value, digits) != 0 else 0.0:.{digits}f}"


def _verdict(text: str) -> str:
    return f"[{COLOURS.get(text, 'white')}]{text}[/]"


PHYSICS_ROWS = (  # PhysicsSummary field, title (with its unit), digits
    ("hits_per_event", "hit DOMs per event [DOMs]", 1), ("weak_hit_fraction", "hits below 0.5 PE [fraction of hits]", 3),
    ("npe_median", "npe median, hit DOMs [PE]", 2), ("npe_q99", "npe 99% quantile, hit DOMs [PE]", 1),
    ("median_hit_time_ns", "median hit time [ns]", 0),
    ("early_hit_fraction", "hits before the simulation's 5% time [fraction of hits]", 3),
    ("median_cog_to_vertex_m", "median CoG distance to vertex [m]", 1),
    ("cog_x_label_correlation", "correlation of CoG x with vertex x [-1 to 1]", 3),
    ("median_linefit_angle_deg", "median LineFit angle to direction [deg]", 1),
    ("charge_vs_energy_slope", "slope of log10 charge vs log10 energy [dex/dex]", 3),
)


def render(report: Any) -> list[Table]:
    pairing = f"; {report.pairs:,} made for real events' labels (paired)" if report.pairs else ""
    copies = Table("memorisation and diversity", "exact", "near", "share", "verdict", box=box.SIMPLE_HEAD,
                   title=f"{report.n_generated:,} generated vs {report.n_real:,} real events{pairing}",
                   title_justify="left")
    for c in report.copies:
        near = f"{c.near:,} of {c.searched:,} searched" if c.searched else "-"
        copies.add_row(c.name, f"{c.exact:,}", near, f"{100 * c.fraction:.1f}%", _verdict(c.verdict))
    if report.memorisation is not None:
        m = report.memorisation
        copies.add_row(f"nearest training event: generated vs held-out (AUC {_fmt(m.auc)} ± {_fmt(m.sigma)})", "",
                       f"{100 * m.closest_share:.1f}% closer than 99% of held-out", "", _verdict(m.verdict))
    shifts = Table("physics shift (generated - simulation)", "value", "significance", "verdict", "measured on",
                   box=box.SIMPLE_HEAD, title="Physics shifts, with bootstrap standard errors", title_justify="left")
    for shift in report.shifts:
        measured = shift.quantity + (f"; {shift.detail}" if shift.detail else "")
        shifts.add_row(shift.name, shift.text(), f"{shift.z:.1f} σ" if math.isfinite(shift.z) else "-",
                       _verdict(shift.verdict), measured)
    for shift in report.onset_bins:
        shifts.add_row(shift.name, shift.text(), f"{shift.z:.1f} σ" if math.isfinite(shift.z) else "-",
                       _verdict(shift.verdict), shift.detail)
    summary = Table("metric (events paired with their labels)", "generated", "real vs real", "verdict",
                    box=box.SIMPLE_HEAD, title="Classifiers (AUC ± its error at this size) and distances",
                    title_justify="left")
    for row in report.summary:
        value = _fmt(row.value) + (f" ± {_fmt(row.error)}" if math.isfinite(row.error) else "")
        summary.add_row(row.metric, value, _fmt(row.reference), _verdict(row.verdict))
    m_a, m_b = report.reference_sizes
    observables = Table("observable", "kind", "W1", "ref", "", "separation", "ref", "", box=box.SIMPLE_HEAD,
                        title=f"Observables (W1 of the probability transform, 0-0.5; separation power, 0-1); references: "
                              f"{m_a:,} real events against {m_b:,}, scaled to these sizes", title_justify="left")
    for o in report.observables:
        observables.add_row(o.label, o.kind, _fmt(o.w1), _fmt(o.w1_reference), _verdict(o.w1_verdict),
                            _fmt(o.separation, 4), _fmt(o.separation_reference, 4), _verdict(o.separation_verdict))
    binned = Table("observable per label bin", "worst W1", "ref", "verdict", box=box.SIMPLE_HEAD,
                   title="Per energy bin (quartiles) and per zenith bin (up, horizontal, down)", title_justify="left")
    for row in report.binned:
        binned.add_row(row.metric, _fmt(row.value), _fmt(row.reference), _verdict(row.verdict))
    physics = Table("physics", "simulation", "generated", box=box.SIMPLE_HEAD, title="Physics at a glance",
                    title_justify="left")
    for name, title, digits in PHYSICS_ROWS:
        physics.add_row(title, _fmt(getattr(report.physics_real, name), digits),
                        _fmt(getattr(report.physics_generated, name), digits))
    if report.conditional:
        c = report.conditional
        physics.add_row("charge correlation, same labels [-1 to 1]", "", _fmt(c["charge_correlation"]))
        physics.add_row("median |Δ log10 charge|, same labels [dex]", "", _fmt(c["median_abs_log10_charge_difference"]))
        physics.add_row("median CoG distance, same labels [m]", "", _fmt(c["median_cog_distance_m"], 1))
    return [copies, shifts, summary, observables, binned, physics]


def verdict_line(report: Any) -> str:
    colour = {"PASS": "green", "MARGINAL": "yellow", "FAIL": "red"}.get(report.overall.verdict, "yellow")
    return f"[bold {colour}]{report.overall.line}[/]"


def evaluate_command(
    real_data: Annotated[Path, typer.Option("--real-data", metavar="REAL.h5", help="Simulated (real) events.")],
    generated_data: Annotated[Path, typer.Option("--generated-data", metavar="GEN.h5", help="Generated events.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", metavar="SUMMARY.png", help="The one-slide summary figure: verdict, AUCs, physics shifts, the observables farthest from simulation.")] = None,
    figures: Annotated[Optional[Path], typer.Option("--figures", metavar="DIR", help="A folder of figures for a talk: the summary, one figure per observable and the strings' hit-rate map, each PNG and PDF.")] = None,
    json_path: Annotated[Optional[Path], json_option("Metrics as JSON.", "METRICS.json")] = None,
    training_data: Annotated[Optional[Path], typer.Option(
        "--training-data", metavar="TRAIN.h5", help="The model's training file: look for memorised training events "
                                                    "(copies, and generated events closer to training events than "
                                                    "simulation is).")] = None,
    seed: Annotated[int, seed_option("Seed of the real-vs-real draws, the bootstrap and the classifiers.")] = 0,
    overwrite: Annotated[bool, overwrite_option("the figure, figure folder and JSON if they exist")] = False,
    config: ConfigOption = None,
    overrides: Annotated[Optional[list[str]], set_option(
        "Change how events are judged, e.g. evaluation.auc=[1,0.03,0.2] (see genesis config show).")] = None,
) -> None:
    """Judge generated events against simulation: the physics verdict, checking they match their labels.

    Copies of real (and, with --training-data, training) events and repeats; physics shifts with
    standard errors (energy scale, time offset and spread, direction, CoG); classifier AUCs on events
    paired with their labels, judged by their significance; a Frechet distance, observables by W1 and
    separation power, per energy and zenith bin, each beside real-vs-real at the same sample sizes.
    Ends in one verdict line: PASS, MARGINAL, FAIL, or TOO FEW EVENTS to judge.
    """
    from genesis_cli.engine.atomic_files import write_folder_atomic
    from genesis_cli.engine.evaluation.plots import plot_summary, write_figure_folder
    from genesis_cli.engine.evaluation.report import evaluate_files

    settings = resolve_config(config, overrides=overrides or []).config.evaluation  # a bad value stops here
    generated_data, located = locate_compare_output(generated_data)
    if located:
        print_notice(located)
    outputs = [Output(output, "--output", figure=True)] if output is not None else []
    outputs += [Output(figures, "--figures", folder=True)] if figures is not None else []
    outputs += [Output(json_path, "--json")] if json_path is not None else []
    check_outputs(outputs, {"--real-data": real_data, "--generated-data": generated_data,
                            "--training-data": training_data}, overwrite=overwrite)
    confirm_replacing([o.path for o in outputs], overwrite)
    report = evaluate_files(real_data, generated_data, seed=seed, settings=settings, training_path=training_data)
    for note in report.notes:
        print_notice(note)
    out = console(wide=True)
    for table in render(report):
        out.print(table)
    out.print(f"per-DOM hit probability: mean |difference| {100 * report.per_dom_hit_rate_difference:.1f}% of the "
              f"mean rate · evaluated in {report.seconds:.1f} s")
    out.print(verdict_line(report))
    if output is not None:
        plot_summary(report, output)
        print_success(f"summary figure written to {output}")
    if figures is not None:
        written: list[Path] = []
        write_folder_atomic(figures, lambda folder: written.extend(write_figure_folder(report, folder)), what="figures")
        print_success(f"{len(written)} figures (PNG and PDF) written to {figures}/")
    if json_path is not None:
        report.save_json(json_path)
        print_success(f"metrics written to {json_path}")
