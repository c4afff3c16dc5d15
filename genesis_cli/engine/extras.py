"""Optional extras (``pip install 'genesis-icecube[wandb]'``, ``[convert]``): imported only where used,
with one line naming the extra when missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from genesis_cli.errors import UsageError


def require_pyarrow() -> ModuleType:
    """pyarrow.parquet, or one line naming the extra that installs it."""
    return require_extra("pyarrow.parquet", "Parquet needs the pyarrow package, which is not installed",
                         hint="pip install 'genesis-icecube[convert]'")


def require_extra(module: str, message: str, *, hint: str) -> ModuleType:
    """``import module``, or a UsageError (exit 2) with ``message`` and the install ``hint``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise UsageError(message, hint=hint) from exc
