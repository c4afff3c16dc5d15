"""Saving matplotlib figures atomically (a temporary file, then rename), with one clear error."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from genesis_cli.errors import GenesisError


def save_figure(fig: Any, out: Path, dpi: int) -> Path:
    """Write ``fig`` to ``out`` (PNG) without ever leaving a half-written file; closes the figure."""
    import matplotlib.pyplot as plt

    temporary = out.with_name(out.name + ".partial.png")
    try:
        fig.savefig(temporary, dpi=dpi)
        os.replace(temporary, out)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise GenesisError(f"{out}: cannot write the figure ({exc.strerror or exc})") from exc
    finally:
        plt.close(fig)
    return out
