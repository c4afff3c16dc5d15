"""Config layers and their merge, with the source of every key.

A resolved config is built from layers, later ones winning key by key:

    model defaults < base preset/file chain < config file < named CLI flags < ``--set`` overrides

Each layer remembers where each of its keys came from (``my.yaml:14``, ``--epochs``,
``--set training.learning_rate=3e-4``), so a validation error can point at the exact place to fix.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from genesis_cli.errors import ConfigError
from genesis_cli.settings.yaml_io import LineMap, parse_scalar

#: ``data.batch_size`` is another name for ``training.batch_size`` (the guide reads both).
BATCH_SIZE_ALIAS = ("data.batch_size", "training.batch_size")


@dataclass
class Layer:
    """One source of settings: nested ``values`` and the origin of each dotted key."""

    label: str
    values: dict[str, Any]
    origins: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, label: str, values: dict[str, Any], lines: LineMap | None = None) -> Layer:
        """A layer read from a file: origins are ``label:line`` where lines are known."""
        origins = {path: f"{label}:{line}" for path, line in (lines or {}).items()}
        return cls(label, values, origins)._with_batch_size_alias()

    @classmethod
    def from_dotted(cls, label: str, items: Mapping[str, Any], names: Mapping[str, str]) -> Layer:
        """A layer from ``{"training.num_epochs": 200}``; ``names`` maps keys to their flags."""
        layer = cls(label, {})
        for path, value in items.items():
            layer._set(path, value, origin=names.get(path, label))
        return layer._with_batch_size_alias()

    @classmethod
    def from_assignments(cls, assignments: Iterable[str]) -> Layer:
        """A layer from ``--set KEY=VALUE`` strings; values are parsed as YAML scalars."""
        layer = cls("--set", {})
        for text in assignments:
            key, sep, raw = text.partition("=")
            key = key.strip()
            if not sep or not key or any(not part for part in key.split(".")):
                raise ConfigError(
                    [f"--set {text!r}: expected KEY=VALUE with a dotted key"],
                    hint="for example --set training.learning_rate=3e-4",
                )
            layer._set(key, parse_scalar(raw), origin=f"--set {text}")
        return layer._with_batch_size_alias()

    def _set(self, path: str, value: Any, origin: str) -> None:
        node = self.values
        parts = path.split(".")
        for depth, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                where = ".".join(parts[: depth + 1])
                raise ConfigError([f"{origin}: {where} is a value, not a section, so {path} cannot be set"])
            node = child
        node[parts[-1]] = value
        self.origins[path] = origin

    def _with_batch_size_alias(self) -> Layer:
        """Move ``data.batch_size`` to ``training.batch_size`` (one value; conflicts are errors)."""
        alias, canonical = BATCH_SIZE_ALIAS
        data = self.values.get("data")
        if not isinstance(data, dict) or "batch_size" not in data:
            return self
        value = data.pop("batch_size")
        origin = self.origins.pop(alias, self.label)
        training = self.values.setdefault("training", {})
        if not isinstance(training, dict):
            return self  # 'training' is not a mapping: validation reports it
        if "batch_size" in training and training["batch_size"] != value:
            raise ConfigError([
                f"{origin}: data.batch_size ({value}) and training.batch_size "
                f"({training['batch_size']}) differ; they are one setting, so give it once"
            ])
        training["batch_size"] = value
        self.origins[canonical] = origin
        return self


def merge(layers: Iterable[Layer]) -> tuple[dict[str, Any], dict[str, str]]:
    """Deep-merge layers in order (later wins; lists are replaced whole).

    Returns the merged nested values and, for each dotted key, the origin of its final value.
    """
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for layer in layers:
        _deep_update(merged, copy.deepcopy(layer.values))
        for path, origin in layer.origins.items():
            # A key replaced by this layer also replaces the origins of everything below it.
            for stale in [p for p in origins if p.startswith(path + ".")]:
                del origins[stale]
            origins[path] = origin
    return merged, origins


def _deep_update(target: dict[str, Any], update: Mapping[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_update(target[key], value)
        else:
            target[key] = value


def origin_of(path: str, origins: Mapping[str, str]) -> str | None:
    """Where the value at ``path`` came from: the key itself, its nearest set ancestor, or else
    the first key set below it (``--set a.b.c=1`` is where a bad ``a.b`` came from)."""
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        found = origins.get(".".join(parts[:end]))
        if found:
            return found
    return next((origin for key, origin in origins.items() if key.startswith(path + ".")), None)
