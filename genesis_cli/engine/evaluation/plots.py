"""The evaluation's figures: one file per observable and the strings' hit-rate map, for a talk.

Each observable panel shows the fraction of events (or, for per-hit observables, of hits) per bin:
simulation as points with Poisson error bars, generated events as a line with its statistical
band; below it the ratio generated / simulation with its propagated error, the simulation's own
relative error as a grey band around 1, and a ratio beyond the axis drawn as an arrow at the edge
(its value written beside it) instead of vanishing. Spectra that fall over more than two decades get
a logarithmic y axis. The light onset is drawn relative to the simulation's median (the file's
clock puts the interaction at an arbitrary time, e.g. 10,000 ns). The one-slide summary is slide.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from genesis_cli.engine.data.eventfile import EventFile
from genesis_cli.engine.detector.geometry import StringLayout
from genesis_cli.engine.evaluation.metrics import common_bins, finite
from genesis_cli.engine.evaluation.observables import HIGH_LEVEL, LABEL_AWARE
from genesis_cli.engine.evaluation.report import EvaluationReport
from genesis_cli.engine.figures import GENERATED_COLOUR, REAL_COLOUR, save_figure, save_figure_formats, slide_style

LOG_Y_DECADES = 2.0  # a spectrum spanning more than this many decades is drawn on a log axis
RATIO_RANGE = (0.0, 2.0)
DPI = 150
FORMATS = ("png", "pdf")  # every figure of the folder, once per format
PANEL_SIZE = (6.4, 5.6)  # inches: one observable, readable as a quarter of a slide


@dataclass(frozen=True)
class ObservablePanel:
    """One observable's values, simulation and generated, and how to draw them."""

    name: str  # the judge's name (observables.py, report.PER_HIT)
    label: str
    unit: str
    real: np.ndarray  # (N,) or (H,) values
    generated: np.ndarray
    counted: str  # "events" or "hits"


def observable_panels(report: EvaluationReport) -> dict[str, ObservablePanel]:
    """Every observable the figures draw, by name (event observables, then two per-hit spectra)."""
    panels = {}
    for name, (label, unit) in {**HIGH_LEVEL, **LABEL_AWARE}.items():
        real, gen = report.real.high[name], report.generated.high[name]
        if name == "onset_time":  # the file's clock: relative to the simulation's median onset
            centre = float(np.nanmedian(real)) if np.isfinite(real).any() else 0.0
            real, gen = real - centre, gen - centre
            label, unit = "light onset, relative to simulation's median", f"ns; median {centre:,.0f} ns"
        panels[name] = ObservablePanel(name, label, unit, real, gen, "events")
    panels["hit_npe"] = ObservablePanel("hit_npe", "npe of hit DOMs", "log10 PE", np.log10(report.real.npe_sample),
                                        np.log10(report.generated.npe_sample), "hits")
    panels["hit_delay"] = ObservablePanel("hit_delay", "hit time after the event's first hit", "log10(1 + t / ns)",
                                          np.log10(1 + report.real.delay_sample),
                                          np.log10(1 + report.generated.delay_sample), "hits")
    return panels


def draw_panel(top: Any, bottom: Any, panel: ObservablePanel, *, legend: bool) -> None:
    """``panel`` as a distribution (``top``) over its ratio generated / simulation (``bottom``)."""
    real, gen = finite(panel.real), finite(panel.generated)
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
    top.set_title(panel.label)
    top.set_ylabel(f"fraction of {panel.counted} / bin")
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
    low, high = RATIO_RANGE
    inside = (ratio >= low) & (ratio <= high)
    bottom.errorbar(centres[inside], ratio[inside], yerr=ratio_error[inside], xerr=widths[inside] / 2, fmt="none",
                    color=GENERATED_COLOUR, elinewidth=1)
    _off_scale_arrows(bottom, centres, ratio, high)
    bottom.set_ylim(low, high)
    bottom.set_xlim(edges[0], edges[-1])
    bottom.set_ylabel("gen. / sim.")
    bottom.set_xlabel(f"{panel.label} [{panel.unit}]" if panel.unit else panel.label)


def _off_scale_arrows(ax: Any, centres: np.ndarray, ratio: np.ndarray, high: float) -> None:
    """A ratio above the axis as an upward arrow at its top edge; the largest values written beside their
    arrows where there is room (one label per tenth of the axis)."""
    above = np.isfinite(ratio) & (ratio > high)
    xs, values = centres[above], ratio[above]
    for x in xs:
        ax.annotate("", xy=(x, high), xytext=(x, high - 0.3 * (high - 1.0)),
                    arrowprops={"arrowstyle": "-|>", "color": GENERATED_COLOUR, "lw": 1.2})
    span = float(centres[-1] - centres[0]) if len(centres) > 1 else 1.0
    labelled: list[float] = []
    for i in np.argsort(-values):
        if all(abs(xs[i] - x) > 0.1 * span for x in labelled):
            labelled.append(xs[i])
            ax.text(xs[i], high - 0.33 * (high - 1.0), f"{values[i]:.1f}", ha="center", va="top", fontsize=8.5,
                    color=GENERATED_COLOUR)


def _fractions(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fraction per bin and its Poisson error."""
    total = max(int(counts.sum()), 1)
    return counts / total, np.sqrt(counts) / total


def string_layout(report: EvaluationReport) -> StringLayout | None:
    with EventFile(Path(report.real_path)) as events:
        return events.geometry.strings


def string_hit_rates(report: EvaluationReport, layout: StringLayout) -> tuple[np.ndarray, np.ndarray]:
    """(S,) mean hit DOMs per event on each string, simulation and generated."""
    n_strings = len(layout.xy)
    real = np.bincount(layout.string_of_dom, weights=report.real.dom_hit_rate, minlength=n_strings)
    generated = np.bincount(layout.string_of_dom, weights=report.generated.dom_hit_rate, minlength=n_strings)
    return real, generated


def draw_string_map(ax: Any, report: EvaluationReport, layout: StringLayout) -> Any:
    """The strings from above, coloured by generated / simulated hit rate (log2 scale, white at 1)."""
    from matplotlib.colors import TwoSlopeNorm

    real, generated = string_hit_rates(report, layout)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(real > 0, generated / real, np.nan)
    points = ax.scatter(layout.xy[:, 0], layout.xy[:, 1], c=np.log2(ratio), s=120, cmap="RdBu_r",
                        norm=TwoSlopeNorm(vcenter=0.0, vmin=-1.0, vmax=1.0), edgecolors="0.3", linewidths=0.5)
    ax.set(title="hit rate per string, generated / simulation", xlabel="x [m]", ylabel="y [m]", aspect="equal")
    return points


def _string_map_figure(report: EvaluationReport, layout: StringLayout) -> Any:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.2, 6.2), layout="constrained")
    points = draw_string_map(ax, report, layout)
    bar = fig.colorbar(points, ax=ax, label="generated / simulation")
    bar.set_ticks([-1, -0.5, 0, 0.5, 1], labels=["0.5", "0.71", "1", "1.41", "2"])
    return fig


def _panel_figure(panel: ObservablePanel) -> Any:
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=PANEL_SIZE, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=False, gridspec_kw={"height_ratios": [3, 1.2]})
    draw_panel(top, bottom, panel, legend=True)
    return fig


def write_figure_folder(report: EvaluationReport, folder: Path) -> list[Path]:
    """Fill ``folder`` (it exists, empty): the summary slide, one figure per observable and the strings'
    hit-rate map, each as PNG and PDF. Returns the files written."""
    from genesis_cli.engine.evaluation.slide import summary_figure

    makers: dict[str, Callable[[], Any]] = {"summary": lambda: summary_figure(report)}
    for name, panel in observable_panels(report).items():
        makers[name] = lambda panel=panel: _panel_figure(panel)  # type: ignore[misc]
    layout = string_layout(report)
    if layout is not None:
        makers["string_hit_rate"] = lambda: _string_map_figure(report, layout)
    written: list[Path] = []
    with slide_style():
        for name, make in makers.items():
            written += save_figure_formats(make(), folder / name, FORMATS, dpi=DPI)
    return written


def plot_summary(report: EvaluationReport, out: Path) -> Path:
    """Write the one-slide summary of ``report`` to ``out`` (format from the extension)."""
    from genesis_cli.engine.evaluation.slide import summary_figure

    with slide_style():
        return save_figure(summary_figure(report), out, dpi=DPI)
