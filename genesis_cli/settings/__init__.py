"""The validated settings layer: one experiment model, presets, and config resolution.

Importable without torch. Public entry points:

- :class:`ExperimentConfig` and its sections (:class:`ModelConfig`, :class:`DiffusionConfig`,
  :class:`DataConfig`, :class:`TrainingConfig`): defaults and validation rules;
- :func:`resolve_config`: preset/file + CLI flags + ``--set`` overrides -> validated config;
- :func:`load_config_from_file`: the guide's one-call API;
- :func:`derive_config`: a validated copy of a config with some keys replaced.
"""

from genesis_cli.settings.experiment import ExperimentConfig
from genesis_cli.settings.loading import ResolvedConfig, derive_config, load_config_from_file, resolve_config
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
    "derive_config",
    "load_config_from_file",
    "preset_names",
    "preset_path",
    "resolve_config",
]
