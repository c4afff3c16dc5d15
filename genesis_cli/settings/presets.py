"""Built-in presets and how a ``--config`` value is resolved to a file.

The YAML presets live in the repository's top-level ``presets/`` folder; the wheel ships them as
``genesis_cli/presets/`` (see ``[tool.setuptools]`` in pyproject.toml), so both a source checkout
and an installed package find them.

``--config`` accepts a preset name (``cnn``), an alias (``dit`` is ``default``), or a YAML path. A
path that does not exist but whose stem names a preset (``configs/cnn.yaml``, as printed in the
guide) resolves to that preset with a notice, so the guide's commands work as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from genesis_cli.errors import ConfigError
from genesis_cli.settings.suggestions import did_you_mean

#: Other names for presets: the guide's comparison workflow uses configs/dit.yaml.
ALIASES = {"dit": "default"}
YAML_SUFFIXES = (".yaml", ".yml")
DEFAULT_PRESET = "default"


def preset_for_architecture(architecture: str | None) -> str:
    """The preset an architecture trains with when no --config is given: ``dit`` (or none) is the
    ``default`` preset, every other architecture has a preset of its own name. An unknown architecture
    is refused as such (not as an unknown preset)."""
    from genesis_cli.settings.choices import one_of
    from genesis_cli.settings.sections import ARCHITECTURES

    if architecture is None:
        return DEFAULT_PRESET
    name = architecture.strip().lower()
    if name not in ARCHITECTURES:
        raise ConfigError([f"--arch {architecture}: unknown architecture; choose {one_of(ARCHITECTURES)}"
                           f"{did_you_mean(name, ARCHITECTURES)}"])
    return ALIASES.get(name, name)


@cache
def preset_dir() -> Path:
    """The folder holding the preset YAML files (installed package first, then source tree)."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "presets", package.parent / "presets"):
        if candidate.is_dir() and any(candidate.glob("*.yaml")):
            return candidate
    raise ConfigError(["the built-in presets are missing from this installation"],
                      hint="reinstall genesis (pip install --force-reinstall genesis-icecube)")


def preset_names() -> list[str]:
    """Names of the built-in presets, ``default`` first, then alphabetical."""
    names = sorted(p.stem for p in preset_dir().glob("*.yaml"))
    return sorted(names, key=lambda n: (n != "default", n))


def preset_path(name: str) -> Path | None:
    """The YAML file of preset ``name`` (aliases and any casing accepted), or None."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    path = preset_dir() / f"{key}.yaml"
    return path if path.is_file() else None


@dataclass(frozen=True)
class ConfigSource:
    """A resolved ``--config`` value: the file to read and how it was found."""

    path: Path
    preset: str | None  # the preset name when a built-in preset was chosen
    notice: str | None = None  # shown to the user when the resolution was not literal


def resolve_config_source(spec: str | Path, *, relative_to: Path | None = None) -> ConfigSource:
    """Resolve a preset name or YAML path (``relative_to``: the folder of a file naming a base)."""
    text = str(spec).strip()
    candidate = Path(text).expanduser()
    if relative_to is not None and not candidate.is_absolute():
        candidate = relative_to / candidate
    if candidate.is_file():
        return ConfigSource(candidate, preset=None)

    looks_like_path = candidate.suffix.lower() in YAML_SUFFIXES or "/" in text or "\\" in text
    name = candidate.stem if looks_like_path else text
    preset = preset_path(name)
    if preset is not None:
        notice = f"{text} not found; using the built-in preset '{preset.stem}'" if looks_like_path else None
        return ConfigSource(preset, preset=preset.stem, notice=notice)

    choices = preset_names() + sorted(ALIASES)
    if looks_like_path:
        problem = f"config file {text!r} not found, and no preset is named {name!r}"
    else:
        problem = f"{text!r} is neither a config file nor a preset{did_you_mean(name, choices)}"
    raise ConfigError([problem], hint=f"presets: {', '.join(choices)} (see `genesis presets`)")
