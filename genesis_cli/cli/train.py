"""``genesis train`` and ``genesis resume``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from genesis_cli.cli.dashboard import make_observer
from genesis_cli.cli.options import ArchOption, ConfigOption, DeviceOption, SetOption, overwrite_option, seed_option
from genesis_cli.cli.output import console, print_notice, print_success
from genesis_cli.cli.prompts import CANCEL, EXIT_CANCELLED, choose, confirm, interactive, locate_checkpoint
from genesis_cli.engine.interrupts import Terminated, exit_code_of
from genesis_cli.errors import UsageError
from genesis_cli.settings import resolve_config
from genesis_cli.settings.presets import DEFAULT_PRESET, preset_for_architecture

TRAIN_EXAMPLES = (
    "[bold]Examples[/bold]\n\n"
    "  genesis train --config debug --data-path toy.h5 --epochs 2 --experiment-name t1\n\n"
    "  genesis train --arch cnn --early-stopping --data-path data.h5\n\n"
    "  genesis train --config debug --data-path toy.h5 --time-budget 20m\n\n"
    "  genesis train --config configs/default.yaml --data-path data.h5 --epochs 200 --batch-size 16 --lr 1e-4\n\n"
    "  torchrun --nproc_per_node=4 -m genesis_cli train --config default --data-path data.h5"
)
RESUME_EXAMPLES = (
    "[bold]Examples[/bold]\n\n"
    "  genesis resume checkpoints/t1\n\n"
    "  genesis resume checkpoints/t1/model_epoch_2.pt --epochs 10"
)
TOY_FILE = Path("genesis_toy.h5")
TOY_EVENTS = 20_000
MAX_OFFERED = 9  # event files offered when --data-path is missing

#: train's and resume's parameters -> the settings key each sets (each flag is spelled once, in its option)
PARAM_KEYS = {
    "data_path": "data.h5_path", "arch": "model.architecture", "epochs": "training.num_epochs",
    "batch_size": "training.batch_size", "lr": "training.learning_rate", "scheduler": "training.scheduler",
    "experiment_name": "experiment_name", "early_stopping": "training.early_stopping",
    "early_stopping_patience": "training.early_stopping_patience",
    "no_restore_best_weights": "training.early_stopping_restore_best", "device": "device", "amp": "training.use_amp",
    "seed": "seed", "max_steps": "training.max_steps", "time_budget": "training.time_budget",
}
#: Switches that set their key to False when given (and leave it alone when not).
NEGATIVE_SWITCHES = ("no_restore_best_weights",)


def flag_settings(ctx: typer.Context, keys: dict[str, str] = PARAM_KEYS) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings the command's flags set (dotted key -> value; None: not given) and each key's flag;
    ``keys`` maps the command's parameters to the settings they set."""
    values = {}
    for name, value in ctx.params.items():
        if name in keys:
            if name in NEGATIVE_SWITCHES:
                value = False if value else None
            values[keys[name]] = str(value) if isinstance(value, Path) else value
    names = {keys[p.name]: p.opts[0] for p in ctx.command.params if p.name in keys}
    return values, names


DebugOption = Annotated[bool, typer.Option("--debug", help="Anomaly detection and full tracebacks.")]


def _data_path() -> Path:
    """No --data-path: on a terminal, offer the event files here or a toy dataset; in scripts, an error."""
    if not interactive():
        raise UsageError("no training data given", hint="pass --data-path FILE.h5 (or set data.h5_path in the config)")
    found = sorted(Path(".").glob("*.h5"))[:MAX_OFFERED]
    options = [f"{path} ({path.stat().st_size / 2**20:,.0f} MiB)" for path in found]
    toy = f"simulate a toy dataset ({TOY_FILE}, {TOY_EVENTS:,} events)" if not TOY_FILE.exists() else None
    choice = choose("No --data-path given. Train on:", [*options, *([toy] if toy else []), CANCEL])
    if choice < len(found):
        return found[choice]
    from genesis_cli.cli.output import progress_callback
    from genesis_cli.engine.detector import icecube86_geometry
    from genesis_cli.engine.simulation.runner import simulate_to_file
    from genesis_cli.settings.simulation import SimulationConfig

    with progress_callback(TOY_EVENTS, f"simulating {TOY_FILE}") as advance:
        simulate_to_file(TOY_FILE, SimulationConfig(events=TOY_EVENTS, seed=1), icecube86_geometry(), progress=advance)
    return TOY_FILE


def _preset(arch: str | None) -> str:
    """No --config: the preset of --arch; without that, a menu on a terminal, else the default preset (said)."""
    if arch is not None:
        return preset_for_architecture(arch)
    from genesis_cli.settings.catalog import preset_catalog

    catalog = preset_catalog()
    default = next(i for i, p in enumerate(catalog) if p.name == DEFAULT_PRESET)
    if not interactive():
        chosen = catalog[default]
        print_notice(f"no --config given: using the {chosen.name} preset ({chosen.architecture}, "
                     f"{chosen.hidden}x{chosen.depth}, {chosen.num_epochs} epochs); `genesis presets` lists the others")
        return chosen.name
    rows = [f"{p.name:<12} {p.architecture:<7} {p.hidden}x{p.depth:<4} {p.num_epochs:>4} epochs  {p.description}"
            for p in catalog]
    return catalog[choose("No --config given. Train which preset?", rows, default=default)].name


def existing_run(experiment: Any, run_dir: Path, values: dict[str, Any], overrides: list[str],
                  names: dict[str, str]) -> Any:
    """A new run's directory already holds a run: resume it, start a new version, or cancel (on a
    terminal); in scripts a new version, said. Never overwritten without --overwrite."""
    from genesis_cli.engine.training import session

    version = session.next_version(experiment)
    if not interactive():
        print_notice(f"{run_dir} already holds a run: this run is {version.experiment_name} "
                     f"(continue the other with `genesis resume {run_dir}`; replace it with --overwrite)")
        return session.prepare_new_run(version)
    choice = choose(f"{run_dir} already holds a run.", [f"resume it (genesis resume {run_dir})",
                    f"start a new version: {version.experiment_name}", CANCEL], default=0)
    if choice == 0:
        return session.prepare_resume(run_dir, values, assignments=overrides, flag_names=names)
    return session.prepare_new_run(version)


def train_with_dashboard(prepared: Any, debug: bool) -> None:
    """Train a prepared run with the live dashboard (rank 0 only); Ctrl-C and SIGTERM print how to resume."""
    from genesis_cli.engine.training import session

    main = session.is_main_process()  # under torchrun, only rank 0 talks to the user
    for notice in prepared.notices if main else ():
        print_notice(notice)
    if prepared.nothing_left is not None:
        if main:
            print_notice(prepared.nothing_left)
        return
    observer = make_observer(debug) if main else None
    try:
        reason = session.run(prepared, observer, debug=debug)
    except KeyboardInterrupt as exc:
        if main:
            what = "Terminated (SIGTERM)" if isinstance(exc, Terminated) else "Interrupted"
            console(stderr=True).print(f"[yellow]{what}.[/] Resume with: [bold]genesis resume {prepared.run_dir}[/]")
        raise typer.Exit(exit_code_of(exc)) from None
    finally:
        if observer is not None and hasattr(observer, "stop"):
            observer.stop()
    if not main:
        return
    what = {"early_stopped": "stopped early", "budget": "reached its budget"}.get(reason, "completed")
    activity = "distillation" if prepared.config.distill.is_student else "training"
    print_success(f"{activity} {what}: checkpoints in {prepared.run_dir} (model_best.pt, model_final.pt); "
                  f"TensorBoard: tensorboard --logdir {prepared.config.log_dir}")


def train_command(
    ctx: typer.Context,
    config: ConfigOption = None,
    data_path: Annotated[Optional[Path], typer.Option("--data-path", help="HDF5 event file to train on.")] = None,
    arch: ArchOption = None,
    epochs: Annotated[Optional[int], typer.Option("--epochs", help="Number of epochs.")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Events per step.")] = None,
    lr: Annotated[Optional[float], typer.Option("--lr", help="Peak learning rate.")] = None,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="cosine, plateau, linear, step or none.")] = None,
    experiment_name: Annotated[Optional[str], typer.Option("--experiment-name", help="Run name.")] = None,
    max_steps: Annotated[Optional[int], typer.Option("--max-steps", metavar="N",
                                                     help="Stop after N optimisation steps (the LR schedule ends there).")] = None,
    time_budget: Annotated[Optional[str], typer.Option("--time-budget", metavar="DURATION",
                                                       help="Stop after this much training time: 90s, 30m, 1.5h.")] = None,
    early_stopping: Annotated[Optional[bool], typer.Option("--early-stopping/--no-early-stopping",
                                                           help="Stop when the validation loss stops improving.")] = None,
    early_stopping_patience: Annotated[Optional[int], typer.Option("--early-stopping-patience",
                                                                   help="Epochs without improvement before stopping.")] = None,
    no_restore_best_weights: Annotated[bool, typer.Option("--no-restore-best-weights",
                                                          help="Keep the final weights instead of the best.")] = False,
    resume_from_checkpoint: Annotated[Optional[Path], typer.Option("--resume-from-checkpoint", metavar="CHECKPOINT",
                                                                   help="Continue a run from this checkpoint.")] = None,
    device: DeviceOption = None,
    amp: Annotated[Optional[bool], typer.Option("--amp/--no-amp", help="Mixed precision on GPUs.")] = None,
    seed: Annotated[Optional[int], seed_option("Seed of every random number generator of the run.")] = None,
    overrides: SetOption = None,
    overwrite: Annotated[bool, overwrite_option("the run in an existing run directory (start over)")] = False,
    debug: DebugOption = False,
) -> None:
    """Train a diffusion model on an event file, with a live dashboard, checkpoints and early stopping.

    Ctrl-C saves a checkpoint and prints the command that resumes the run.
    """
    from genesis_cli.engine.training import session

    ctx.meta["genesis.debug"] = ctx.meta.get("genesis.debug") or debug
    values, names = flag_settings(ctx)
    if resume_from_checkpoint is not None:  # exactly `genesis resume`: the run's saved settings, changed by flags
        if config is not None:
            print_notice(f"--config {config} is not read on resume: the run continues with its saved settings, "
                         "changed only by the flags given")
        prepared = session.prepare_resume(locate_checkpoint(resume_from_checkpoint), values, assignments=overrides or [],
                                          flag_names=names)
        train_with_dashboard(prepared, debug)
        return
    base = config if config is not None else _preset(arch)
    resolved = resolve_config(base, flags=values, flag_names=names, overrides=overrides or [])
    for notice in resolved.notices:
        print_notice(notice)
    experiment = resolved.config
    if experiment.data.h5_path is None:
        experiment.data.h5_path = _data_path()
    existing = session.holds_run(experiment)
    if existing is not None and not overwrite:
        prepared = existing_run(experiment, existing, values, overrides or [], names)
    else:
        if existing is not None and interactive() and not confirm(f"Replace the run in {existing}? It is removed "
                                                                  "once the new run writes its first checkpoint."):
            raise typer.Exit(EXIT_CANCELLED)
        prepared = session.prepare_new_run(experiment, overwrite=overwrite)
    train_with_dashboard(prepared, debug)


def resume_command(
    ctx: typer.Context,
    target: Annotated[Optional[Path], typer.Argument(metavar="[RUN_DIR|CHECKPOINT]",
                                                     help="A run directory or a checkpoint file (none: choose a recent run).")] = None,
    epochs: Annotated[Optional[int], typer.Option("--epochs", help="Train to this many epochs in total.")] = None,
    max_steps: Annotated[Optional[int], typer.Option("--max-steps", metavar="N", help="Train to N steps in total.")] = None,
    time_budget: Annotated[Optional[str], typer.Option("--time-budget", metavar="DURATION",
                                                       help="Train to this much training time in total: 90s, 30m, 1.5h.")] = None,
    early_stopping_patience: Annotated[Optional[int], typer.Option("--early-stopping-patience",
                                                                   help="New patience (the new value applies).")] = None,
    data_path: Annotated[Optional[Path], typer.Option("--data-path", help="The same data file, if it moved.")] = None,
    device: DeviceOption = None,
    debug: DebugOption = False,
) -> None:
    """Continue a run exactly where it stopped: same data order, noise, learning rate and counters."""
    from genesis_cli.engine.training import session

    ctx.meta["genesis.debug"] = ctx.meta.get("genesis.debug") or debug
    overrides, names = flag_settings(ctx)
    target = locate_checkpoint(target) if target is not None else _recent_run()
    train_with_dashboard(session.prepare_resume(target, overrides, flag_names=names), debug)


def _recent_run() -> Path:
    """`genesis resume` with no argument: the most recent runs to choose from (on a terminal)."""
    from genesis_cli.engine.training import session
    from genesis_cli.settings import ExperimentConfig

    runs = session.recent_runs(Path(ExperimentConfig().checkpoint_dir))
    if not runs:
        raise UsageError("no run given, and no run with a checkpoint under checkpoints/",
                         hint="pass a run directory or a checkpoint: genesis resume checkpoints/NAME")
    if not interactive():
        raise UsageError("no run given", hint="pass one of the most recent: " + ", ".join(map(str, runs)))
    return runs[choose("Resume which run? (most recent first)", [*(str(run) for run in runs), CANCEL], default=0)]
