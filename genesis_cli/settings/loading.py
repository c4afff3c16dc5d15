"""Resolve a config from a preset or file, CLI flags and ``--set`` overrides.

Precedence, lowest first: model defaults < base chain < config file < named CLI flags < ``--set``.

A config file may start from a preset or another file and override only some keys::

    base: cnn              # a preset name, or a path relative to this file
    training:
      learning_rate: 3e-4

Bases chain (a base may name its own base); a cycle is an error.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genesis_cli.errors import ConfigError
from genesis_cli.settings.experiment import ExperimentConfig
from genesis_cli.settings.layers import Layer, merge
from genesis_cli.settings.messages import validate
from genesis_cli.settings.presets import ConfigSource, resolve_config_source
from genesis_cli.settings.yaml_io import read_yaml_file

log = logging.getLogger(__name__)

#: The top-level key through which a file names the preset or file it extends.
BASE_KEY = "base"


@dataclass
class ResolvedConfig:
    """A validated config plus how it was obtained."""

    config: ExperimentConfig
    notices: list[str] = field(default_factory=list)  # things the user should know, not errors
    origins: dict[str, str] = field(default_factory=dict)  # dotted key -> where its value was set
    sources: list[Path] = field(default_factory=list)  # files read, base first


def resolve_config(
    config: str | Path | None = None,
    *,
    flags: Mapping[str, Any] | None = None,
    flag_names: Mapping[str, str] | None = None,
    overrides: Sequence[str] = (),
) -> ResolvedConfig:
    """Build and validate an :class:`ExperimentConfig`.

    Args:
        config: a preset name, an alias, or a YAML path; None for the model defaults.
        flags: named CLI flags as dotted keys, e.g. ``{"training.num_epochs": 200}``; None values
            are skipped (flags the user did not pass).
        flag_names: dotted key -> flag spelling (``"--epochs"``), for error messages.
        overrides: ``KEY=VALUE`` strings from ``--set``, applied last.

    Raises:
        ConfigError: with one line per problem, each naming the key and where it was set.
    """
    notices: list[str] = []
    layers: list[Layer] = []
    sources: list[Path] = []
    if config is not None:
        source = resolve_config_source(config)
        if source.notice:
            notices.append(source.notice)
        layers += _file_layers(source, chain=[], sources=sources)
    given = {key: value for key, value in (flags or {}).items() if value is not None}
    if given:
        layers.append(Layer.from_dotted("command line", given, flag_names or {}))
    if overrides:
        layers.append(Layer.from_assignments(overrides))

    values, origins = merge(layers)
    validated = validate(ExperimentConfig, values, origins)
    notices += _notices(validated)
    return ResolvedConfig(validated, notices, origins, sources)


def derive_config(config: ExperimentConfig, values: Mapping[str, Any], label: str,
                  flag_names: Mapping[str, str] | None = None, assignments: Sequence[str] = ()) -> ExperimentConfig:
    """``config`` with the dotted keys of ``values`` replaced (None values skipped), then ``--set``
    ``assignments``, validated again; errors name ``label``, or the flag of ``flag_names`` that set the key."""
    given = {key: value for key, value in values.items() if value is not None}
    layers = [Layer("base", config.to_dict()), Layer.from_dotted(label, given, flag_names or {})]
    if assignments:
        layers.append(Layer.from_assignments(assignments))
    merged, origins = merge(layers)
    return validate(ExperimentConfig, merged, origins)


def load_config_from_file(path: str | Path) -> ExperimentConfig:
    """The validated config of a YAML file or preset name (the guide's Advanced Usage API).

    Example::

        from genesis_cli import load_config_from_file
        config = load_config_from_file("configs/default.yaml")   # falls back to the preset
        config.training.num_epochs, config.data.batch_size
    """
    resolved = resolve_config(path)
    for notice in resolved.notices:
        log.info(notice)
    return resolved.config


def _file_layers(source: ConfigSource, chain: list[Path], sources: list[Path]) -> list[Layer]:
    """The layers of a file and of its base chain, base first."""
    path = source.path.resolve()
    label = f"presets/{source.path.name}" if source.preset else str(source.path)
    if path in chain:
        cycle = " -> ".join(str(p) for p in [*chain, path])
        raise ConfigError([f"{label}: base chain loops ({cycle})"], hint="remove one of the base keys")
    data, lines = read_yaml_file(source.path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{label}: the top level must be a mapping of keys, not a "
                           f"{type(data).__name__}"], hint="see presets/default.yaml for the layout")

    layers: list[Layer] = []
    if BASE_KEY in data:
        base = data.pop(BASE_KEY)
        if not isinstance(base, (str, Path)) or not str(base).strip():
            raise ConfigError([f"{label}:{lines.get(BASE_KEY, 0)}: base must be a preset name or a "
                               f"YAML path, not {base!r}"])
        base_source = resolve_config_source(str(base), relative_to=source.path.parent)
        layers += _file_layers(base_source, [*chain, path], sources)
    sources.append(source.path)
    layers.append(Layer.from_mapping(label, data, lines))
    return layers


def _notices(config: ExperimentConfig) -> list[str]:
    """Settings that are valid but behave in a way worth saying out loud."""
    notices = []
    training = config.training
    if training.warmup_ratio > 0 and "warmup_steps" in training.model_fields_set:
        notices.append(
            f"training.warmup_ratio={training.warmup_ratio} takes precedence over "
            f"training.warmup_steps={training.warmup_steps}"
        )
    return notices
