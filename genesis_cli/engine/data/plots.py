"""Figures of an inspected event file (``genesis inspect-data --plot``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genesis_cli.engine.data.eventfile import LABEL_COLUMNS, LABEL_UNITS, EventFile
from genesis_cli.engine.data.inspection import Inspection
from genesis_cli.engine.figures import save_figure


def plot_inspection(report: Inspection, out: Path) -> Path:
    """Histograms of labels, hits per event, npe and hit times; a top view and a depth profile of
    the per-DOM hit rate. Written atomically (temporary file, then rename)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with EventFile(report.path) as events:
        geometry = events.geometry
    fig, axes = plt.subplots(3, 4, figsize=(17, 11), constrained_layout=True)
    axes = axes.ravel()
    for i, (name, unit) in enumerate(zip(LABEL_COLUMNS, LABEL_UNITS)):
        column = report.labels[:, i]
        column = column[np.isfinite(column)]
        if name == "energy":
            column = np.log10(column[column > 0])
            name, unit = "log10 energy", "log10 GeV"
        axes[i].hist(column, bins=60, color="tab:blue", alpha=0.8)
        axes[i].set(xlabel=f"{name} [{unit}]", ylabel="events", title=f"label: {name}")
    axes[6].hist(report.hits_per_event, bins=60, color="tab:green")
    axes[6].set(xlabel="hit DOMs per event", ylabel="events", title="hits per event")
    if report.npe_sample.size:
        bins = np.logspace(np.log10(max(report.npe_sample.min(), 1e-2)), np.log10(report.npe_sample.max() + 1), 60)
        axes[7].hist(report.npe_sample, bins=bins, color="tab:orange")
        axes[7].set(xscale="log", yscale="log")
    axes[7].set(xlabel="npe of hit DOMs", ylabel="DOMs", title="charge")
    axes[8].hist(report.time_sample, bins=60, color="tab:purple")
    axes[8].set(xlabel="hit time [ns]", ylabel="DOMs", title="hit times")

    layout = geometry.strings
    if layout is not None:
        rate = np.array([report.dom_hit_rate[d].mean() for d in layout.doms])
        xs, ys = layout.xy[:, 0], layout.xy[:, 1]
    else:
        rate, xs, ys = report.dom_hit_rate, geometry.x, geometry.y
    points = axes[9].scatter(xs, ys, c=rate, s=60, cmap="viridis")
    fig.colorbar(points, ax=axes[9], label="mean DOM hit rate")
    axes[9].set(xlabel="x [m]", ylabel="y [m]", title="top view: hit rate per string", aspect="equal")
    depth_bins = np.linspace(geometry.z.min(), geometry.z.max() + 1e-6, 40)
    which = np.digitize(geometry.z, depth_bins)
    profile = [report.dom_hit_rate[which == b].mean() if (which == b).any() else np.nan
               for b in range(1, len(depth_bins))]
    axes[10].plot(profile, (depth_bins[:-1] + depth_bins[1:]) / 2, color="tab:red")
    axes[10].set(xlabel="mean DOM hit rate", ylabel="z [m]", title="depth profile")
    axes[11].axis("off")
    axes[11].text(0.0, 0.9, f"{report.path.name}\n{report.n_events:,} events, {geometry.n_doms} DOMs\n"
                  f"{'ready for training' if report.ready else 'NOT ready: ' + str(len(report.problems)) + ' problem(s)'}",
                  va="top", fontsize=12)
    return save_figure(fig, out, dpi=90)
