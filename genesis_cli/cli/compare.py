"""``genesis compare``: architectures side by side on the same data, budget and labels."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.table import Table

from genesis_cli.cli.options import overwrite_option, seed_option, set_option
from genesis_cli.cli.output import console, print_notice, print_success
from genesis_cli.engine.outputs import COMPARE_OUTPUT_DIR
from genesis_cli.errors import UsageError
from genesis_cli.settings import resolve_config
from genesis_cli.settings.sections import ARCHITECTURES

EXAMPLES = (
    "[bold]Examples[/bold]\n\n"
    "  genesis compare dit cnn hybrid --data-path data.h5 --budget 10m\n\n"
    "  genesis compare --architectures dit cnn hybrid     [dim]# runs from the guide's comparison workflow[/dim]\n\n"
    "  genesis compare dit cnn --runs checkpoints/a checkpoints/b"
)


def compare_command(
    architectures: Annotated[Optional[list[str]], typer.Argument(metavar="ARCH...", help="dit, cnn, mlp, hybrid, resnet.")] = None,
    architectures_option: Annotated[Optional[list[str]], typer.Option("--architectures", help="The guide's spelling of ARCH...")] = None,
    data_path: Annotated[Optional[Path], typer.Option("--data-path", help="Event file to train on and evaluate with.")] = None,
    budget: Annotated[str, typer.Option(help="Training budget per architecture: steps (300) or time (90s, 5m).")] = "300",
    runs: Annotated[Optional[list[Path]], typer.Option("--runs", metavar="DIR", help="Use existing runs instead of training.")] = None,
    reuse: Annotated[bool, typer.Option("--reuse", help="Use the guide's checkpoints/<arch>_experiment runs where they exist "
                                                        "(always, without --data-path).")] = False,
    events: Annotated[int, typer.Option(help="Test events sampled and evaluated per architecture.")] = 500,
    output_dir: Annotated[Path, typer.Option("--output-dir", help="Where samples, reports, the table and the figure go.")] = COMPARE_OUTPUT_DIR,
    seed: Annotated[int, seed_option("Seed of training, sampling and evaluation.")] = 42,
    overrides: Annotated[Optional[list[str]], set_option("Override settings of every trained architecture.")] = None,
    overwrite: Annotated[bool, overwrite_option("the outputs and runs of an earlier comparison in --output-dir")] = False,
) -> None:
    """Compare architectures on the same data, budget and test labels.

    Trains each architecture on the same split for the same budget (or takes existing runs),
    samples the same test labels, evaluates each, and prints one table with a trade-off figure and
    JSON.
    """
    from genesis_cli.cli.dashboard import make_observer
    from genesis_cli.engine.comparison import compare, describe, plot_tradeoff

    # `--architectures dit cnn hybrid` parses as the option's first value and two arguments: keep the user's order
    names = [a.lower() for a in (architectures_option or []) + (architectures or [])]
    if not names:
        raise UsageError("no architectures given", hint="for example: genesis compare dit cnn hybrid --data-path data.h5")
    unknown = [n for n in names if n not in ARCHITECTURES]
    if unknown:
        raise UsageError(f"unknown architecture(s) {', '.join(unknown)}", hint=f"choose from {', '.join(ARCHITECTURES)}")
    if events <= 0:
        raise UsageError(f"--events {events}: must be > 0")
    results = compare(names, out_dir=output_dir, data_path=data_path, budget=budget, runs=runs or [], events=events,
                      seed=seed, overrides=overrides or [], reuse=reuse,
                      checkpoint_dir=Path(resolve_config(overrides=overrides or []).config.checkpoint_dir),
                      observer_for=lambda _: make_observer(False), say=print_notice, overwrite=overwrite)
    table = Table("architecture", "params", "GFLOP/event", "train ev/s", "sample ev/s", "sampling peak GiB",
                  "best val loss", "AUC high", "AUC per-DOM", "Frechet", box=box.SIMPLE_HEAD,
                  title=f"Architecture comparison ({describe(results)})", title_justify="left")
    fmt = lambda v, d=3: "-" if not math.isfinite(v) else f"{v:,.{d}f}"  # noqa: E731
    for r in results:
        table.add_row(r.architecture, f"{r.parameters / 1e6:.2f} M", fmt(r.forward_gflops_per_event, 2),
                      fmt(r.train_events_per_second, 1), fmt(r.sampling_events_per_second, 1), fmt(r.peak_memory_gib, 2),
                      fmt(r.best_val_loss, 4), _with_error(r.auc_high_level, r.auc_high_level_error),
                      _with_error(r.auc_per_dom, r.auc_per_dom_error), fmt(r.frechet_distance, 2))
    console(wide=True).print(table)
    figure = plot_tradeoff(results, output_dir / "comparison.png")
    print_success(f"table in {output_dir / 'comparison.json'}, figure in {figure}")
    for r in results:
        print_success(f"{r.architecture}: samples in {r.samples}, report in {output_dir / f'{r.architecture}_evaluation.json'}")


def _with_error(value: float, error: float) -> str:
    """``0.912 ± 0.009`` (the judge's standard error), or ``-`` when not measured."""
    if not math.isfinite(value):
        return "-"
    return f"{value:.3f} ± {error:.3f}" if math.isfinite(error) else f"{value:.3f}"
