"""The evaluation figure: real vs generated distributions with statistical errors and ratio panels,
and detector top views, styled to be shown on a slide (figures.slide_style).

Each panel shows the fraction of events per bin: simulation as points with Poisson error bars,
generated events as a line with its statistical band; below it the ratio generated / simulation
with the ratio's propagated error, and the simulation's own relative error as a grey band around
1. Spectra that fall over more than two decades get a logarithmic y axis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from genesis_cli.engine.data.eventfile import EventFile
from genesis_cli.engine.evaluation.metrics import common_bins, finite
from genesis_cli.engine.evaluation.observables import HIGH_LEVEL, LABEL_AWARE
from genesis_cli.engine.evaluation.report import EvaluationReport
from genesis_cli.engine.figures import GENERATED_COLOUR, REAL_COLOUR, save_figure, slide_style

COLUMNS = 4
LOG_Y_DECADES = 2.0  # a spectrum spanning more than this many decades is drawn on a log axis
RATIO_RANGE = (0.0, 2.0)
DPI = 110


def plot_report(report: EvaluationReport, out: Path) -> Path:
    """Write the evaluation figure of ``report`` to ``out`` (format from the extension)."""
    import matplotlib.pyplot as plt

    panels = [(label, unit, report.real.high[name], report.generated.high[name])
              for name, (label, unit) in {**HIGH_LEVEL, **LABEL_AWARE}.items()]
    panels.append(("npe of hit DOMs", "log10 PE", np.log10(report.real.npe_sample),
                   np.log10(report.generated.npe_sample)))
    panels.append(("hit time after the first hit", "log10(1 + t / ns)", np.log10(1 + report.real.delay_sample),
                   np.log10(1 + report.generated.delay_sample)))
    rows = -(-len(panels) // COLUMNS)
    with slide_style():
        fig = plt.figure(figsize=(5.0 * COLUMNS, 4.6 * rows + 5.5), layout="constrained")
        upper, lower = fig.subfigures(2, 1, height_ratios=[4.6 * rows, 5.5])  # separate layouts: no colorbar gaps
        grid = upper.add_gridspec(2 * rows, COLUMNS, height_ratios=[3, 1.2] * rows)
        for i, (label, unit, real, gen) in enumerate(panels):
            r, c = divmod(i, COLUMNS)
            top, bottom = upper.add_subplot(grid[2 * r, c]), upper.add_subplot(grid[2 * r + 1, c])
            _panel(top, bottom, label, unit, real, gen, legend=i == 0)
        _top_views(lower, report)
        fig.suptitle(f"GENESIS evaluation: {Path(report.generated_path).name} (generated) vs "
                     f"{Path(report.real_path).name} (simulation) · {report.overall.verdict}", fontsize=16)
        return save_figure(fig, out, dpi=DPI)


def _panel(top: Any, bottom: Any, label: str, unit: str, real: np.ndarray, gen: np.ndarray, *, legend: bool) -> None:
    real, gen = finite(real), finite(gen)
    edges = common_bins(real, gen)
    centres, widths = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    n_real, _ = np.histogram(np.clip(real, edges[0], edges[-1]), edges)
    n_gen, _ = np.histogram(np.clip(gen, edges[0], edges[-1]), edges)
    f_real, e_real = _fractions(n_real)
    f_gen, e_gen = _fractions(n_gen)
    top.stairs(f_gen, edges, color=GENERATED_COLOUR, lw=1.8, label=f"generated ({len(gen):,})")
    top.stairs(f_gen + e_gen, edges, baseline=np.maximum(f_gen - e_gen, 0), fill=True, color=GENERATED_COLOUR,
               alpha=0.25, lw=0)
    top.errorbar(centres, f_real, yerr=e_real, fmt="o", ms=3.5, color=REAL_COLOUR, elinewidth=1,
                 label=f"simulation ({len(real):,})")
    positive = np.concatenate([f_real[f_real > 0], f_gen[f_gen > 0]])
    if positive.size and np.log10(positive.max() / positive.min()) > LOG_Y_DECADES:
        top.set_yscale("log")
    top.set_title(label)
    top.set_ylabel("fraction of events / bin")
    top.tick_params(labelbottom=False)
    top.set_xlim(edges[0], edges[-1])
    if legend:
        top.legend(loc="best", frameon=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(n_real > 0, f_gen / f_real, np.nan)
        ratio_error = ratio * np.sqrt(1.0 / np.maximum(n_gen, 1) + 1.0 / np.maximum(n_real, 1))
        real_band = np.where(n_real > 0, 1.0 / np.sqrt(np.maximum(n_real, 1)), np.nan)
    bottom.fill_between(edges, np.append(1 - real_band, 1 - real_band[-1]), np.append(1 + real_band, 1 + real_band[-1]),
                        step="post", color="0.8", lw=0, label="simulation stat.")
    bottom.axhline(1.0, color=REAL_COLOUR, lw=0.8)
    bottom.errorbar(centres, ratio, yerr=ratio_error, xerr=widths / 2, fmt="none", color=GENERATED_COLOUR, elinewidth=1)
    bottom.set_ylim(*RATIO_RANGE)
    bottom.set_xlim(edges[0], edges[-1])
    bottom.set_ylabel("gen. / sim.")
    bottom.set_xlabel(f"{label} [{unit}]" if unit else label)


def _fractions(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fraction of events per bin and its Poisson error."""
    total = max(int(counts.sum()), 1)
    return counts / total, np.sqrt(counts) / total


def _top_views(fig: Any, report: EvaluationReport) -> None:
    """Mean charge per string seen from above, simulation and generated on one colour scale."""
    with EventFile(Path(report.real_path)) as events:
        layout = events.geometry.strings
    if layout is None:
        return
    vmax = max(report.real.string_charge.max(), report.generated.string_charge.max(), 1e-9)
    axes = fig.subplots(1, 2)
    for ax, (title, values) in zip(axes, (("simulation: mean charge per string", report.real.string_charge),
                                          ("generated: mean charge per string", report.generated.string_charge))):
        points = ax.scatter(layout.xy[:, 0], layout.xy[:, 1], c=values, s=110, cmap="viridis", vmin=0, vmax=vmax,
                            edgecolors="0.3", linewidths=0.5)
        ax.set(title=title, xlabel="x [m]", ylabel="y [m]", aspect="equal")
        fig.colorbar(points, ax=ax, label="mean charge per event [PE]")
