"""Saving matplotlib figures atomically (a temporary file, then rename), with one clear error."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from genesis_cli.engine.outputs import figure_format
from genesis_cli.errors import GenesisError


def save_figure(fig: Any, out: Path, dpi: int) -> Path:
    """Write ``fig`` to ``out`` in the format its extension names (.png, .pdf, .svg, ...) without ever
    leaving a half-written file; closes the figure."""
    import matplotlib.pyplot as plt

    file_format = figure_format(out, "figure")
    temporary = out.with_name(f".{out.name}.partial")
    try:
        fig.savefig(temporary, dpi=dpi, format=file_format)
        os.replace(temporary, out)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise GenesisError(f"{out}: cannot write the figure ({exc.strerror or exc})") from exc
    finally:
        plt.close(fig)
    return out
