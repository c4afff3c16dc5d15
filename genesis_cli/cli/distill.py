"""``genesis distill``: a few-step student of a trained run (engine/distill/)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from genesis_cli.cli.options import DeviceOption, SetOption, overwrite_option, seed_option
from genesis_cli.cli.output import print_notice
from genesis_cli.cli.prompts import EXIT_CANCELLED, confirm, interactive, locate_checkpoint
from genesis_cli.cli.train import DebugOption, existing_run, flag_settings, train_with_dashboard

EXAMPLES = (
    "[bold]Examples[/bold]\n\n"
    "  genesis distill checkpoints/teacher --steps 4 --guidance-scale 2 --max-steps 100\n\n"
    "  genesis distill checkpoints/t1 --time-budget 30m --experiment-name t1_student\n\n"
    "  genesis sample --checkpoint checkpoints/student --steps 4 -n 10000 -o fast.h5"
)
#: distill's parameters -> the settings key each sets
PARAM_KEYS = {
    "steps": "distill.steps", "guidance_scale": "distill.guidance_scale", "max_steps": "training.max_steps",
    "time_budget": "training.time_budget", "experiment_name": "experiment_name", "data_path": "data.h5_path",
    "batch_size": "training.batch_size", "lr": "training.learning_rate", "seed": "seed", "device": "device",
}
#: What `genesis resume` may be told when the user picks "resume it" for an existing student.
RESUMABLE = ("training.max_steps", "training.time_budget", "data.h5_path", "device")


def distill_command(
    ctx: typer.Context,
    run: Annotated[Path, typer.Argument(metavar="RUN_DIR|CHECKPOINT",
                                        help="The teacher: a trained run (its best checkpoint) or a checkpoint.")],
    steps: Annotated[Optional[int], typer.Option(
        "--steps", min=1, help="The student's default sampling steps (default 4; it samples in 1, 2, 4 or any "
                               "number up to its grid).")] = None,
    guidance_scale: Annotated[Optional[float], typer.Option(
        "--guidance-scale", help="The teacher's classifier-free guidance folded into the student (default 1: "
                                 "off).")] = None,
    max_steps: Annotated[Optional[int], typer.Option(
        "--max-steps", metavar="N", help="Distillation steps (default: distill.max_steps, 2000).")] = None,
    time_budget: Annotated[Optional[str], typer.Option(
        "--time-budget", metavar="DURATION", help="Distil for this much training time: 90s, 30m, 1.5h.")] = None,
    experiment_name: Annotated[Optional[str], typer.Option(
        "--experiment-name", help="The student's run name (default: student).")] = None,
    data_path: Annotated[Optional[Path], typer.Option(
        "--data-path", help="Events to distil on (default: the teacher's training file).")] = None,
    batch_size: Annotated[Optional[int], typer.Option(
        "--batch-size", help="Events per step (default: the teacher's).")] = None,
    lr: Annotated[Optional[float], typer.Option(
        "--lr", help="Peak learning rate (default: distill.learning_rate, 1e-4).")] = None,
    seed: Annotated[Optional[int], seed_option("Seed of every random number generator of the run.")] = None,
    device: DeviceOption = None,
    overrides: SetOption = None,
    overwrite: Annotated[bool, overwrite_option("the run in an existing run directory (start over)")] = False,
    debug: DebugOption = False,
) -> None:
    """Distil a trained run into a student that samples in 1 to 4 steps, one network pass each.

    Consistency distillation with the teacher's guidance folded in; the same dashboard, checkpoints,
    Ctrl-C/SIGTERM handling and `genesis resume` as training.
    """
    from genesis_cli.engine.distill.teacher import student_config, teacher_checkpoint
    from genesis_cli.engine.training import session

    ctx.meta["genesis.debug"] = ctx.meta.get("genesis.debug") or debug
    values, names = flag_settings(ctx, PARAM_KEYS)
    teacher = teacher_checkpoint(locate_checkpoint(run))
    config = student_config(teacher, values, names, overrides or [])
    existing = session.holds_run(config)
    if existing is not None and not overwrite:
        resumable = {key: value for key, value in values.items() if key in RESUMABLE}
        prepared = existing_run(config, existing, resumable, [], names)
    else:
        if existing is not None and interactive() and not confirm(f"Replace the run in {existing}? It is removed "
                                                                  "once the new run writes its first checkpoint."):
            raise typer.Exit(EXIT_CANCELLED)
        prepared = session.prepare_new_run(config, overwrite=overwrite)
    d = prepared.config.distill
    if prepared.resume is None:
        print_notice(f"distilling {teacher} (step {d.teacher_step:,}) into a {d.method} student: guidance "
                     f"{d.guidance_scale:g} folded in, {d.steps} sampling steps by default")
    train_with_dashboard(prepared, debug)
    print_notice(f"sample the student: genesis sample --checkpoint {prepared.run_dir} --steps {d.steps} "
                 "-n 1000 -o student.h5")
