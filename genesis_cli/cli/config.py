"""``genesis config show`` and ``genesis config validate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.syntax import Syntax

from genesis_cli.cli.options import ConfigOption, SetOption
from genesis_cli.cli.output import console, print_error, print_notice, print_success
from genesis_cli.errors import EXIT_USAGE, ConfigError
from genesis_cli.settings import ResolvedConfig, resolve_config
from genesis_cli.settings.yaml_io import dump_yaml

app = typer.Typer(
    help="Show the fully resolved config, or validate config files.",
    epilog=("[bold]Examples[/bold]\n\n"
            "  genesis config show --config debug\n\n"
            "  genesis config validate my_run.yaml"),
    no_args_is_help=True,
    rich_markup_mode="rich",
)



@app.command("show", epilog=(
    "[bold]Examples[/bold]\n\n"
    "  genesis config show --config cnn --set training.learning_rate=3e-4\n\n"
    "  genesis config show --config my_run.yaml > resolved.yaml"))
def show(config: ConfigOption = None, overrides: SetOption = None) -> None:
    """Print the fully resolved config as YAML: defaults, then the preset or file, then --set.

    On a terminal the YAML is highlighted; piped or redirected it is plain and parseable. Notices
    go to stderr.
    """
    resolved = resolve_config(config, overrides=overrides or [])
    for notice in resolved.notices:
        print_notice(notice)
    text = _header(config, resolved) + dump_yaml(resolved.config.to_dict())
    out = console()
    if out.is_terminal:
        out.print(Syntax(text, "yaml", theme="ansi_dark", background_color="default"))
    else:
        typer.echo(text, nl=False)


@app.command("validate", epilog=(
    "[bold]Examples[/bold]\n\n"
    "  genesis config validate my_run.yaml\n\n"
    "  genesis config validate configs/*.yaml"))
def validate(files: Annotated[list[Path], typer.Argument(
        metavar="FILE...", help="YAML config files to check.")]) -> None:
    """Check config files: every key known, every value in range. Exit 0 when all are valid.

    Each problem is reported on one line with the file, line number and key; a misspelt key comes
    with the closest valid one.
    """
    failed = 0
    for path in files:
        if not path.is_file():
            print_error([f"{path}: file not found"], "pass the path of a YAML config file")
            failed += 1
            continue
        try:
            resolved = resolve_config(path)
        except ConfigError as exc:
            print_error(exc.lines, exc.hint)
            failed += 1
            continue
        for notice in resolved.notices:
            print_notice(notice)
        model, training = resolved.config.model, resolved.config.training
        print_success(f"{path}: valid ({model.architecture}, {model.hidden} hidden, "
                      f"{model.depth} layers; {training.num_epochs} epochs, batch {training.batch_size})")
    if failed:
        raise typer.Exit(EXIT_USAGE)


def _header(config: str | None, resolved: ResolvedConfig) -> str:
    """A YAML comment naming what the config was resolved from (keeps the output parseable)."""
    sources = [str(p) for p in resolved.sources] or ["defaults"]
    return f"# resolved config ({config or 'defaults'}: {' <- '.join(sources)})\n"
