"""Figures: one slide-ready style for every GENESIS figure, and atomic saving (engine/atomic_files.py)
in the format the extension names.

The style follows the field's habit (mplhep's): ticks on all four sides pointing in, minor ticks,
text readable when the figure fills a slide (12-14 pt), simulation in black, generated in orange.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from genesis_cli.engine.atomic_files import write_atomic
from genesis_cli.engine.outputs import figure_format

REAL_COLOUR = "black"
GENERATED_COLOUR = "#e66101"
SLIDE_STYLE = {
    "font.size": 13, "axes.titlesize": 13, "axes.labelsize": 13, "xtick.labelsize": 11.5, "ytick.labelsize": 11.5,
    "legend.fontsize": 11.5, "xtick.direction": "in", "ytick.direction": "in", "xtick.top": True, "ytick.right": True,
    "xtick.minor.visible": True, "ytick.minor.visible": True, "xtick.major.size": 6, "ytick.major.size": 6,
    "xtick.minor.size": 3, "ytick.minor.size": 3, "axes.linewidth": 1.1, "figure.facecolor": "white",
}


@contextmanager
def slide_style() -> Iterator[None]:
    """Matplotlib (headless Agg) in GENESIS's slide style for the figures made inside."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.rc_context(SLIDE_STYLE):
        yield


def save_figure(fig: Any, out: Path, dpi: int) -> Path:
    """Write ``fig`` to ``out`` in the format its extension names (.png, .pdf, .svg, ...) without ever
    leaving a half-written file; closes the figure."""
    import matplotlib.pyplot as plt

    file_format = figure_format(out, "figure")
    try:
        write_atomic(out, lambda temporary: fig.savefig(temporary, dpi=dpi, format=file_format), what="the figure")
    finally:
        plt.close(fig)
    return out


def save_figure_formats(fig: Any, stem: Path, formats: tuple[str, ...], dpi: int) -> list[Path]:
    """Write ``fig`` once per format (``stem``.png, ``stem``.pdf, ...), each atomically; closes the figure."""
    import matplotlib.pyplot as plt

    written = []
    try:
        for extension in formats:
            out = stem.with_name(f"{stem.name}.{extension}")
            write_atomic(out, lambda temporary, e=extension: fig.savefig(temporary, dpi=dpi, format=e), what="the figure")
            written.append(out)
    finally:
        plt.close(fig)
    return written
