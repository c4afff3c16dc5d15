"""The evaluation figure: real vs generated histograms with ratio panels, and detector top views."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genesis_cli.engine.data.eventfile import EventFile
from genesis_cli.engine.evaluation.metrics import common_bins, finite
from genesis_cli.engine.evaluation.observables import HIGH_LEVEL, LABEL_AWARE
from genesis_cli.engine.evaluation.report import EvaluationReport
from genesis_cli.engine.figures import save_figure

COLUMNS = 4


def plot_report(report: EvaluationReport, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(name, label, unit, report.real.high[name], report.generated.high[name])
              for name, (label, unit) in {**HIGH_LEVEL, **LABEL_AWARE}.items()]
    panels.append(("npe", "npe of hit DOMs (log10)", "", np.log10(report.real.npe_sample),
                   np.log10(report.generated.npe_sample)))
    panels.append(("delay", "hit time after first hit (log10 ns)", "", np.log10(1 + report.real.delay_sample),
                   np.log10(1 + report.generated.delay_sample)))
    rows = -(-len(panels) // COLUMNS)
    fig = plt.figure(figsize=(4.2 * COLUMNS, 3.6 * rows + 4.5), constrained_layout=True)
    grid = fig.add_gridspec(2 * rows + 1, COLUMNS, height_ratios=[3, 1] * rows + [4.5])
    for i, (_, label, unit, real, gen) in enumerate(panels):
        r, c = divmod(i, COLUMNS)
        top, bottom = fig.add_subplot(grid[2 * r, c]), fig.add_subplot(grid[2 * r + 1, c])
        edges = common_bins(real, gen)
        h_real, _ = np.histogram(np.clip(finite(real), edges[0], edges[-1]), edges, density=True)
        h_gen, _ = np.histogram(np.clip(finite(gen), edges[0], edges[-1]), edges, density=True)
        centres = (edges[:-1] + edges[1:]) / 2
        top.stairs(h_real, edges, label="real", color="black")
        top.stairs(h_gen, edges, label="generated", color="tab:orange")
        top.set_title(label, fontsize=9)
        top.tick_params(labelbottom=False, labelsize=7)
        with np.errstate(divide="ignore", invalid="ignore"):
            bottom.plot(centres, np.where(h_real > 0, h_gen / h_real, np.nan), drawstyle="steps-mid", color="tab:orange")
        bottom.axhline(1.0, color="black", lw=0.8)
        bottom.set_ylim(0, 2)
        bottom.set_ylabel("gen/real", fontsize=7)
        bottom.set_xlabel(unit, fontsize=7)
        bottom.tick_params(labelsize=7)
        if i == 0:
            top.legend(fontsize=8)
    with EventFile(Path(report.real_path)) as events:
        layout = events.geometry.strings
    if layout is not None:
        vmax = max(report.real.string_charge.max(), report.generated.string_charge.max(), 1e-9)
        for c, (title, values) in enumerate((("real: mean charge per string", report.real.string_charge),
                                             ("generated: mean charge per string", report.generated.string_charge))):
            ax = fig.add_subplot(grid[2 * rows, 2 * c:2 * c + 2])
            points = ax.scatter(layout.xy[:, 0], layout.xy[:, 1], c=values, s=70, cmap="viridis", vmin=0, vmax=vmax)
            ax.set(title=title, xlabel="x [m]", ylabel="y [m]", aspect="equal")
            fig.colorbar(points, ax=ax, label="PE per event")
    fig.suptitle(f"{Path(report.generated_path).name} vs {Path(report.real_path).name}")
    return save_figure(fig, out, dpi=80)
