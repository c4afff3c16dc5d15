"""``genesis presets``: the built-in configurations at a glance."""

from __future__ import annotations

from rich import box
from rich.table import Table

from genesis_cli.cli.output import console
from genesis_cli.settings.catalog import PresetSummary, preset_catalog

EXAMPLES = (
    "[bold]Examples[/bold]\n\n"
    "  genesis presets\n\n"
    "  genesis config show --config cnn     [dim]# every key of one preset[/dim]"
)


def presets_command() -> None:
    """List the built-in presets: architecture, size, epochs, batch size and purpose.

    Pass a name to [bold]--config[/bold] of any command (or write [bold]base: NAME[/bold] at the top
    of your own YAML file and override only the keys you need).
    """
    table = Table(title="GENESIS presets", title_justify="left", header_style="bold",
                  box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1, 0, 0), caption="size: hidden width x layers",
                  caption_justify="left")
    for column, justify in [("name", "left"), ("architecture", "left"), ("size", "left"),
                            ("epochs", "right"), ("batch", "right")]:
        table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    table.add_column("description", ratio=1)
    for preset in preset_catalog():
        name = preset.name + "".join(f" ({alias})" for alias in preset.aliases)
        table.add_row(name, preset.architecture, _size(preset), str(preset.num_epochs),
                      str(preset.batch_size), preset.description)
    console().print(table)


def _size(preset: PresetSummary) -> str:
    parts = [f"{preset.hidden}x{preset.depth}"]
    if preset.heads is not None:
        parts.append(f"{preset.heads} heads")
    if preset.kernel_sizes is not None:
        parts.append("k " + ",".join(map(str, preset.kernel_sizes)))
    return ", ".join(parts)
