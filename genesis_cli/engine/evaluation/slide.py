"""The evaluation on one slide (16:9): the verdict, the classifier AUCs, the physics shifts with their
errors, and the observables that differ most from simulation, so a talk shows the judgement and
its evidence together. Per-observable figures are plots.py's.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np

from genesis_cli.engine.evaluation.plots import ObservablePanel, draw_panel, observable_panels
from genesis_cli.engine.evaluation.report import EvaluationReport

SLIDE_SIZE = (16.0, 9.0)  # inches, 16:9
TELLING = 4  # observables on the slide
VERDICT_COLOURS = {"PASS": "#1a9641", "MARGINAL": "#d99a00", "FAIL": "#c0392b"}
CHECK_COLOURS = {"good": "#1a9641", "fair": "#d99a00", "poor": "#c0392b"}


def most_telling(report: EvaluationReport, panels: dict[str, ObservablePanel], count: int = TELLING) -> list[str]:
    """The ``count`` drawable observables whose W1 distance from simulation is the largest multiple of
    what simulation itself shows at these sizes (their reference), most telling first."""
    ranked = []
    for row in report.observables:
        if row.name in panels and np.isfinite(row.w1) and np.isfinite(row.w1_reference) and row.w1_reference > 0:
            ranked.append((row.w1 / row.w1_reference, row.name))
    return [name for _, name in sorted(ranked, reverse=True)[:count]]


def summary_figure(report: EvaluationReport) -> Any:
    """The one-slide summary of ``report`` as a matplotlib figure (call inside figures.slide_style)."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=SLIDE_SIZE, layout="constrained")
    text_side, plot_side = fig.subfigures(1, 2, width_ratios=[1.0, 1.35])
    _judgement(text_side, report)
    panels = observable_panels(report)
    names = most_telling(report, panels)
    if names:
        grid = plot_side.add_gridspec(4, 2, height_ratios=[3, 1.2, 3, 1.2])
        for i, name in enumerate(names):
            row, column = divmod(i, 2)
            top, bottom = plot_side.add_subplot(grid[2 * row, column]), plot_side.add_subplot(grid[2 * row + 1, column])
            draw_panel(top, bottom, panels[name], legend=i == 0)
        plot_side.suptitle("the observables farthest from simulation (W1 over its real-vs-real reference)",
                           fontsize=12)
    return fig


def _judgement(fig: Any, report: EvaluationReport) -> None:
    """The left of the slide: verdict, AUCs and shifts as text, coloured by their verdicts."""
    verdict = report.overall.verdict
    lines: list[tuple[str, str, float, str]] = []  # text, colour, size, weight
    lines.append((f"{report.n_generated:,} generated vs {report.n_real:,} simulated events", "0.25", 12, "normal"))
    for part in textwrap.wrap(report.overall.line, 52):
        lines.append((part, VERDICT_COLOURS.get(verdict, "0.2"), 15, "bold"))
    lines.append(("", "black", 8, "normal"))
    lines.append(("Classifiers (0.5: indistinguishable)", "black", 13, "bold"))
    for row in report.summary:
        if "AUC" in row.metric and np.isfinite(row.value):
            error = f" ± {row.error:.3f}" if np.isfinite(row.error) else ""
            lines.append((f"  {row.metric.replace('classifier AUC, ', 'AUC ')}: {row.value:.3f}{error}",
                          CHECK_COLOURS.get(row.verdict, "black"), 12.5, "normal"))
    lines.append(("", "black", 8, "normal"))
    lines.append(("Physics shifts, generated - simulation (± bootstrap error)", "black", 13, "bold"))
    for shift in report.shifts:
        z = f"  ({shift.z:.1f} σ)" if np.isfinite(shift.z) else ""
        lines.append((f"  {shift.name}: {shift.text()}{z}", CHECK_COLOURS.get(shift.verdict, "black"), 12, "normal"))
    worst = max(report.onset_bins, key=lambda s: abs(s.z) if np.isfinite(s.z) else -1.0, default=None)
    if worst is not None:
        lines.append((f"  worst energy x zenith bin: {worst.text()}", CHECK_COLOURS.get(worst.verdict, "black"), 12,
                      "normal"))
    lines.append(("", "black", 8, "normal"))
    lines.append(("green: within simulation's own spread · amber: fair · red: poor", "0.4", 10.5, "normal"))
    y = 0.97
    for text, colour, size, weight in lines:
        fig.text(0.02, y, text, color=colour, fontsize=size, fontweight=weight, va="top", ha="left")
        y -= 0.012 + size / 72 / SLIDE_SIZE[1] * 1.35
