"""``genesis demo``: the whole job on a fresh machine: simulate, train, sample, evaluate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from genesis_cli.cli.options import overwrite_option
from genesis_cli.cli.output import console, print_success, progress_callback
from genesis_cli.cli.prompts import confirm_replacing
from genesis_cli.engine.outputs import Output, check_outputs
from genesis_cli.errors import UsageError

EXAMPLES = "[bold]Examples[/bold]\n\n  genesis demo\n\n  genesis demo --directory my_demo --events 5000"


def demo_command(
    directory: Annotated[Path, typer.Option(help="Where the demo's data, run and reports go.")] = Path("genesis_demo"),
    events: Annotated[int, typer.Option(help="Events to simulate.")] = 3000,
    test_events: Annotated[int, typer.Option("--test-events", help="Held-out events to generate and evaluate.")] = 200,
    overwrite: Annotated[bool, overwrite_option("the files of an earlier demo in --directory")] = False,
) -> None:
    """Run GENESIS end to end: simulate, train, sample, evaluate (about a minute on a CPU).

    Simulates a small IceCube dataset, trains the debug preset, generates events for the held-out
    labels and evaluates them against the simulation.
    """
    from genesis_cli.cli.evaluate import render, verdict_line
    from genesis_cli.cli.train import train_with_dashboard
    from genesis_cli.engine import workflows
    from genesis_cli.engine.detector import icecube86_geometry
    from genesis_cli.engine.evaluation.plots import plot_summary
    from genesis_cli.engine.simulation.runner import simulate_to_file
    from genesis_cli.engine.training import session
    from genesis_cli.settings import resolve_config
    from genesis_cli.settings.messages import validate
    from genesis_cli.settings.simulation import SimulationConfig

    simulation = validate(SimulationConfig, {"events": events, "seed": 1}, origins={"events": "--events"},
                          hint="see genesis demo --help")
    if test_events <= 0:
        raise UsageError(f"--test-events {test_events}: must be > 0")
    out = console()
    data = directory / "toy.h5"
    config = resolve_config("debug", flags={
        "data.h5_path": str(data), "experiment_name": "demo", "checkpoint_dir": str(directory / "checkpoints"),
        "log_dir": str(directory / "logs"), "training.batch_size": 8, "training.num_epochs": 3}).config
    prepared = session.prepare_new_run(config, overwrite=overwrite)  # checks everything before any work
    directory.mkdir(parents=True, exist_ok=True)
    outputs = [directory / name for name in ("toy.h5", "real_test.h5", "generated.h5", "evaluation.png", "evaluation.json")]
    check_outputs([Output(path, "--directory") for path in outputs], {}, overwrite=overwrite)
    confirm_replacing(outputs, overwrite)
    out.rule("[bold]1/4 simulate")
    with progress_callback(events, f"simulating {data.name}") as advance:
        simulate_to_file(data, simulation, icecube86_geometry(), overwrite=True,
                         progress=advance)
    out.print(f"{events:,} simulated IceCube events in {data}")

    out.rule("[bold]2/4 train (debug preset)")
    train_with_dashboard(prepared, debug=False)

    out.rule("[bold]3/4 sample")
    real = workflows.heldout_file(data, config, directory / "real_test.h5", test_events)
    generated = directory / "generated.h5"
    with progress_callback(test_events, f"sampling {generated.name}") as advance:
        _, summary = workflows.sample_heldout(prepared.run_dir, real, generated, seed=config.sampling.seed,
                                              device=config.device, progress=advance)
    out.print(f"{summary.events:,} events generated for the held-out labels in {summary.seconds:.1f} s")

    out.rule("[bold]4/4 evaluate")
    report = workflows.evaluate(real, generated, seed=0, settings=config.evaluation,
                                report_json=directory / "evaluation.json")
    for table in render(report):
        out.print(table)
    out.print(verdict_line(report))
    figure = plot_summary(report, directory / "evaluation.png")
    print_success(f"done. data: {data} · run: {prepared.run_dir} · samples: {generated} · report: {figure} and "
                  f"{directory / 'evaluation.json'}")
    out.print("A few minutes of training on a CPU give a rough model; train longer "
              "(genesis resume, a larger preset, a GPU) and watch the AUC approach 0.5.")
