"""Saving matplotlib figures atomically (engine/atomic_files.py), in the format the extension names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genesis_cli.engine.atomic_files import write_atomic
from genesis_cli.engine.outputs import figure_format


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
