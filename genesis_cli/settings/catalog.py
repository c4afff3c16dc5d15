"""The preset catalogue behind ``genesis presets``: each preset loaded, validated and summarised."""

from __future__ import annotations

from dataclasses import dataclass

from genesis_cli.settings.loading import resolve_config
from genesis_cli.settings.presets import ALIASES, preset_names
from genesis_cli.settings.sections import ATTENTION_ARCHITECTURES


@dataclass(frozen=True)
class PresetSummary:
    """What a user needs to choose a preset."""

    name: str
    aliases: tuple[str, ...]
    architecture: str
    hidden: int
    depth: int
    heads: int | None  # None for architectures without attention
    kernel_sizes: tuple[int, ...] | None  # the multi-scale kernels of the cnn
    num_epochs: int
    batch_size: int
    description: str


def preset_catalog() -> list[PresetSummary]:
    """Every built-in preset, validated (a broken preset raises ConfigError naming its file)."""
    summaries = []
    for name in preset_names():
        config = resolve_config(name).config
        model = config.model
        summaries.append(PresetSummary(
            name=name,
            aliases=tuple(alias for alias, target in ALIASES.items() if target == name),
            architecture=model.architecture,
            hidden=model.hidden,
            depth=model.depth,
            heads=model.heads if model.architecture in ATTENTION_ARCHITECTURES else None,
            kernel_sizes=tuple(model.kernel_sizes) if model.architecture == "cnn" else None,
            num_epochs=config.training.num_epochs,
            batch_size=config.training.batch_size,
            description=config.description,
        ))
    return summaries
