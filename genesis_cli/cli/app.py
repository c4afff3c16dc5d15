"""The ``genesis`` command: the root Typer app, its global options and the error boundary.

Command modules register themselves on :data:`app`; this module only wires them up and turns every
failure into the CLI's one error style (see :mod:`genesis_cli.cli.output`):

- :class:`~genesis_cli.errors.GenesisError` -> its message and hint, its exit code (1 or 2);
- Typer/Click usage errors (unknown option, bad value) -> the same style, exit 2;
- Ctrl-C -> exit 130;
- anything else is a bug -> a one-line summary, exit 1, the traceback with ``--debug``.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from typer import (
    _click,  # Typer >= 0.26 vendors Click; pyproject pins the Typer range.
    rich_utils,
)
from typer.core import TyperGroup, TyperOption

from genesis_cli.cli.output import WIDE_OUTPUT_COLUMNS, console, debug_from_env, print_error
from genesis_cli.cli.prompts import EXIT_CANCELLED
from genesis_cli.engine.interrupts import exit_code_of
from genesis_cli.errors import EXIT_FAILURE, EXIT_OK, GenesisError
from genesis_cli.version import __version__

_DEBUG_META = "genesis.debug"


class GenesisGroup(TyperGroup):
    """A Typer group that renders every error the same way and maps it to an exit code."""

    def invoke(self, ctx: _click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (_click.exceptions.ClickException, typer.Exit, typer.Abort):
            raise  # usage errors and deliberate exits: handled in main()
        except GenesisError as exc:
            print_error(exc.lines, exc.hint, exc, debug=_debugging(ctx))
            raise typer.Exit(exc.exit_code) from exc
        except KeyboardInterrupt as exc:
            console(stderr=True).print("[yellow]Interrupted.[/]")
            raise typer.Exit(exit_code_of(exc)) from None
        except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
            debug = _debugging(ctx)
            hint = None if debug else "rerun with --debug (or GENESIS_DEBUG=1) for the traceback"
            print_error([f"unexpected {type(exc).__name__}: {exc}"], hint, exc, debug=debug)
            raise typer.Exit(EXIT_FAILURE) from exc

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            result = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                  standalone_mode=False, **extra)
            code = result if isinstance(result, int) else EXIT_OK
        except _click.exceptions.NoArgsIsHelpError as exc:
            code = exc.exit_code  # the help was printed when the error was raised
        except _click.exceptions.ClickException as exc:
            ctx = getattr(exc, "ctx", None)
            hint = f"run '{ctx.command_path} --help' for usage" if ctx is not None else None
            print_error([exc.format_message()], hint)
            code = exc.exit_code
        except typer.Abort:  # Ctrl-C or Ctrl-D at a prompt: a cancel, as every other cancel
            console(stderr=True).print("[yellow]Cancelled.[/]")
            code = EXIT_CANCELLED
        if standalone_mode:
            sys.exit(code)
        return code


def _debugging(ctx: _click.Context) -> bool:
    return bool(ctx.meta.get(_DEBUG_META)) or debug_from_env()


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"genesis {__version__}")
        raise typer.Exit()


app = typer.Typer(
    name="genesis",
    cls=GenesisGroup,
    help="GENESIS: train conditional diffusion models that generate IceCube events, "
         "and prove the generated events are physically right.",
    epilog="New here? Run [bold]genesis demo[/bold]. Every command has examples in its --help.",
    rich_markup_mode="rich",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option(
        "--version", "-V", callback=_print_version, is_eager=True,
        help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show full tracebacks on errors (or set GENESIS_DEBUG=1).")] = False,
) -> None:
    ctx.meta[_DEBUG_META] = debug


def _register() -> None:
    """Attach the command modules (imported here so each stays free of app wiring)."""
    from genesis_cli.cli import (
        bench,
        compare,
        config,
        convert,
        demo,
        distill,
        evaluate,
        inspect_data,
        presets,
        sample,
        simulate,
        train,
    )

    app.command("presets", epilog=presets.EXAMPLES)(presets.presets_command)
    app.add_typer(config.app, name="config")
    app.command("inspect-data", epilog=inspect_data.EXAMPLES)(inspect_data.inspect_data_command)
    app.command("simulate", epilog=simulate.EXAMPLES)(simulate.simulate_command)
    app.command("convert", epilog=convert.EXAMPLES)(convert.convert_command)
    app.command("train", epilog=train.TRAIN_EXAMPLES)(train.train_command)
    app.command("resume", epilog=train.RESUME_EXAMPLES)(train.resume_command)
    app.command("distill", epilog=distill.EXAMPLES)(distill.distill_command)
    app.command("sample", epilog=sample.EXAMPLES)(sample.sample_command)
    app.command("evaluate", epilog=evaluate.EXAMPLES)(evaluate.evaluate_command)
    app.command("compare", epilog=compare.EXAMPLES)(compare.compare_command)
    app.command("demo", epilog=demo.EXAMPLES)(demo.demo_command)
    app.command("bench", epilog=bench.EXAMPLES)(bench.bench_command)


_register()


def _flag_type(self: TyperOption, ctx: _click.Context) -> str | None:
    """The help's type column: nothing for an on/off flag (Typer writes ``<bool>`` beside ``--overwrite``)."""
    if self.is_flag and self.metavar is None:
        return None
    return _typer_type(self, ctx)


_typer_type = TyperOption.display_type_rich
TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]


def main() -> None:
    """Console-script entry point (``genesis``) and ``python -m genesis_cli``."""
    if not sys.stdout.isatty() and "COLUMNS" not in os.environ:
        rich_utils.MAX_WIDTH = WIDE_OUTPUT_COLUMNS  # piped --help is not cut to 80 columns ("--resume-from-c…")
    app(prog_name="genesis")
