"""GENESIS: conditional diffusion models that generate IceCube detector events.

``import genesis_cli`` stays light (no torch): the public API is loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from genesis_cli.version import __version__

# Public name -> module that defines it; imported lazily so the CLI starts fast.
_LAZY = {
    "ExperimentConfig": "genesis_cli.settings",
    "load_config_from_file": "genesis_cli.settings",
    "resolve_config": "genesis_cli.settings",
    "make_dataloader": "genesis_cli.engine.data.loader",
    "EventFile": "genesis_cli.engine.data.eventfile",
    "ModelFactory": "genesis_cli.engine.models.factory",
    "GaussianDiffusion": "genesis_cli.engine.diffusion.gaussian",
}

if TYPE_CHECKING:
    from genesis_cli.engine.data.eventfile import EventFile
    from genesis_cli.engine.data.loader import make_dataloader
    from genesis_cli.engine.diffusion.gaussian import GaussianDiffusion
    from genesis_cli.engine.models.factory import ModelFactory
    from genesis_cli.settings import ExperimentConfig, load_config_from_file, resolve_config

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'genesis_cli' has no attribute {name!r}")
