"""The validated settings layer: one experiment model, presets, and config resolution.

Importable without torch. Public entry points:

- :class:`ExperimentConfig` and its sections (:class:`ModelConfig`, :class:`DiffusionConfig`,
  :class:`DataConfig`, :class:`TrainingConfig`): defaults and validation rules;
- :func:`resolve_config`: preset/file + CLI flags + ``--set`` overrides -> validated config;
- :func:`load_config_from_file`: the guide's one-call API.
"""

from genesis_cli.settings.experiment import ExperimentConfig
from genesis_cli.settings.loading import ResolvedConfig, load_config_from_file, resolve_config
from genesis_cli.settings.presets import preset_names, preset_path
from genesis_cli.settings.sections import DataConfig, DiffusionConfig, ModelConfig
from genesis_cli.settings.training import TrainingConfig

__all__ = [
    "DataConfig",
    "DiffusionConfig",
    "ExperimentConfig",
    "ModelConfig",
    "ResolvedConfig",
    "TrainingConfig",
    "load_config_from_file",
    "preset_names",
    "preset_path",
    "resolve_config",
]
