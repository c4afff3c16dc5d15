"""``genesis sample``: generate events with a trained model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from genesis_cli.cli.options import DeviceOption, overwrite_option, sampler_option, seed_option
from genesis_cli.cli.output import print_notice, print_success, print_warning, progress_callback
from genesis_cli.cli.prompts import confirm_replacing
from genesis_cli.engine.outputs import Output, check_outputs
from genesis_cli.errors import EXIT_INTERRUPTED, UsageError
from genesis_cli.settings import derive_config, resolve_config

EXAMPLES = (
    "[bold]Examples[/bold]\n\n"
    "  genesis sample --checkpoint checkpoints/t1/model_best.pt --num-events 1000 --output production_samples.h5\n\n"
    "  genesis sample --checkpoint checkpoints/t1 --labels-from test.h5 --output gen.h5\n\n"
    "  genesis sample --checkpoint run.pt --num-events 10000 --energy 1e5:1e7 --zenith 1.5:3.1 --output up.h5"
)
RangeOption = Optional[str]
FLAGS = {"diffusion.sampler": "--sampler", "diffusion.sampling_steps": "--steps",
         "diffusion.guidance_scale": "--guidance-scale", "sampling.batch_size": "--batch-size", "sampling.seed": "--seed"}


def sample_command(
    checkpoint: Annotated[Path, typer.Option("--checkpoint", metavar="CKPT|RUN_DIR", help="Trained checkpoint (or run directory: its best).")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="OUT.h5", help="Event file to write.")],
    num_events: Annotated[Optional[int], typer.Option("--num-events", "-n", help="Events to generate (default with --labels-from: one per label).")] = None,
    sampler: Annotated[Optional[str], sampler_option("ddpm, ddim, dpm-solver, dpm-solver-sde, or consistency for a distilled student (default: the checkpoint's config).")] = None,
    steps: Annotated[Optional[int], typer.Option(help="Sampler steps (ddim, dpm-solver, dpm-solver-sde; a student: 1, 2, 4 or up to its grid).")] = None,
    guidance_scale: Annotated[Optional[float], typer.Option("--guidance-scale", help="Classifier-free guidance scale.")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Events generated at once (default: sampling.batch_size, 256).")] = None,
    seed: Annotated[Optional[int], seed_option("Random seed (default: sampling.seed, 0).")] = None,
    device: DeviceOption = None,
    compile_model: Annotated[Optional[bool], typer.Option("--compile/--no-compile", help="torch.compile the denoiser (default: sampling.compile; null: on for CUDA).")] = None,
    labels_from: Annotated[Optional[Path], typer.Option("--labels-from", metavar="FILE.h5", help="Generate for the labels of this file.")] = None,
    energy: Annotated[RangeOption, typer.Option(metavar="LO:HI", help="Energy in GeV, log-uniform (or one value).")] = None,
    zenith: Annotated[RangeOption, typer.Option(metavar="LO:HI", help="Zenith in rad, isotropic within the range.")] = None,
    azimuth: Annotated[RangeOption, typer.Option(metavar="LO:HI", help="Azimuth in rad.")] = None,
    x: Annotated[RangeOption, typer.Option("--x", metavar="LO:HI", help="Vertex x in m.")] = None,
    y: Annotated[RangeOption, typer.Option("--y", metavar="LO:HI", help="Vertex y in m.")] = None,
    z: Annotated[RangeOption, typer.Option("--z", metavar="LO:HI", help="Vertex z in m.")] = None,
    overwrite: Annotated[bool, overwrite_option("OUT.h5 if it exists")] = False,
) -> None:
    """Generate events with a trained model (its EMA weights) and write them in the input format.

    Streams to disk batch by batch; Ctrl-C keeps a valid file with the events written so far.
    """
    import numpy as np

    from genesis_cli.cli.prompts import locate_checkpoint
    from genesis_cli.engine.runs.store import sampling_checkpoint
    from genesis_cli.engine.sampling.conditions import LABEL_FLAGS, labels_from_file, labels_from_ranges, parse_range
    from genesis_cli.engine.sampling.generate import SamplingPlan, sample_to_file
    from genesis_cli.engine.sampling.generator import TrainedGenerator
    from genesis_cli.engine.sampling.label_checks import check_file_labels, check_requested
    from genesis_cli.engine.sampling.provenance import LabelSource

    flags = {"diffusion.sampler": sampler.lower() if sampler else None, "diffusion.sampling_steps": steps,
             "diffusion.guidance_scale": guidance_scale, "sampling.batch_size": batch_size, "sampling.seed": seed}
    resolve_config(flags=flags, flag_names=FLAGS)  # a bad value is refused before the checkpoint is read
    range_texts = {name: text for name, text in zip(LABEL_FLAGS, (energy, zenith, azimuth, x, y, z)) if text}
    ranges = {name: parse_range(text, name) for name, text in range_texts.items()}
    checkpoint = locate_checkpoint(checkpoint)
    check_outputs([Output(output, "--output")], {"--checkpoint": checkpoint if checkpoint.is_file() else None,
                                                  "--labels-from": labels_from}, overwrite=overwrite)
    confirm_replacing([output], overwrite)
    skipped: list[str] = []
    chosen = sampling_checkpoint(checkpoint, skipped)
    for notice in skipped:
        print_notice(notice)
    trained = TrainedGenerator.load(chosen, device or "auto", compile=compile_model, on_message=print_notice)
    plan = SamplingPlan.of(derive_config(trained.config, flags, "command line", FLAGS))
    if labels_from is not None:
        if ranges:
            raise UsageError("--labels-from and label ranges exclude each other", hint="pass one or the other")
        rows = labels_from_file(labels_from, num_events)
        labels, ids = rows.labels, rows.ids
        warnings = check_file_labels(labels_from, labels, trained.normalizer)
    else:
        if num_events is None:
            raise UsageError("--num-events is required without --labels-from")
        if num_events <= 0:
            raise UsageError(f"--num-events {num_events}: must be > 0")
        if not ranges:
            print_notice("no labels given: sampling the training distribution (see genesis sample --help)")
        ids = None
        warnings = check_requested(ranges, trained.normalizer)
        labels = labels_from_ranges(num_events, ranges, trained.normalizer, trained.geometry,
                                    np.random.default_rng(plan.seed))
    for warning in warnings:
        print_warning(warning)
    with progress_callback(len(labels), f"sampling {output.name}") as advance:
        summary = sample_to_file(trained, labels, output, plan, overwrite=overwrite, progress=advance,
                                 label_source=LabelSource(labels_from, range_texts), ids=ids)
    if summary.interrupted:
        kept = f"{output} is kept unchanged; " if summary.path != output else ""
        print_notice(f"interrupted: {kept}{summary.path} holds the {summary.events:,} events generated so far")
        raise typer.Exit(EXIT_INTERRUPTED)
    print_success(f"wrote {summary.events:,} events to {summary.path} with {plan.sampler} in {summary.seconds:.1f} s "
                  f"({summary.events_per_second:,.1f} events/s)")
