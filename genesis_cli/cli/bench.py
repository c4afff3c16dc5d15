"""``genesis bench``: training, sampling and data-loading throughput."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich import box
from rich.table import Table

from genesis_cli.cli.options import ConfigOption, DeviceOption, JsonOption, SetOption, overwrite_option, sampler_option
from genesis_cli.cli.output import console, print_notice, print_success
from genesis_cli.cli.prompts import confirm_replacing
from genesis_cli.engine.atomic_files import write_text_atomic
from genesis_cli.engine.outputs import Output, check_outputs
from genesis_cli.settings import resolve_config

if TYPE_CHECKING:
    from genesis_cli.engine.bench import BenchReport, LoopComparison

EXAMPLES = (
    "[bold]Examples[/bold]\n\n"
    "  genesis bench --config default --what train --batch-size 256 --batch-size 1024 --baseline\n\n"
    "  genesis bench --config default --what sample --sampler dpm-solver --sampler ddim --guidance-scale 2\n\n"
    "  genesis bench --config debug --what all --steps 3 --data-path toy.h5 --json bench.json --profile prof.txt"
)
FLAGS = {"diffusion.sampling_steps": "--sampling-steps", "diffusion.guidance_scale": "--guidance-scale"}


def bench_command(
    config: ConfigOption = None,
    what: Annotated[str, typer.Option(help="train, sample, data or all (or a comma-separated list); loop: `genesis train`'s loop on --data-path beside the train step, phase by phase.")] = "all",
    batch_size: Annotated[Optional[list[int]], typer.Option("--batch-size", help="Events per step; repeat to sweep (default: the config's).")] = None,
    steps: Annotated[int, typer.Option(help="Timed repeats (after 3 warm-up repeats).")] = 10,
    device: DeviceOption = None,
    sampler: Annotated[Optional[list[str]], sampler_option("Sampler to time; repeat for several (default: the config's).")] = None,
    sampling_steps: Annotated[Optional[int], typer.Option("--sampling-steps", help="Steps of ddim, dpm-solver and dpm-solver-sde.")] = None,
    guidance_scale: Annotated[Optional[float], typer.Option("--guidance-scale", help="Guidance scale (not 0 or 1: two passes per step).")] = None,
    student_steps: Annotated[Optional[list[int]], typer.Option("--student-steps", metavar="N", help="Also time a distilled student (genesis distill) sampling in N steps, the guidance folded in; repeat for several (default: 1, 2 and 4; 0: none).")] = None,
    baseline: Annotated[bool, typer.Option("--baseline", help="Also run the original configuration (one token per DOM, fp16, eager; 1000 guided DDPM steps) and report the speed-ups.")] = False,
    data_path: Annotated[Optional[Path], typer.Option("--data-path", help="Event file for the data benchmark.")] = None,
    profile: Annotated[Optional[Path], typer.Option("--profile", metavar="FILE", help="Write torch.profiler tables of each workload to FILE.")] = None,
    overrides: SetOption = None,
    json_path: JsonOption = None,
    overwrite: Annotated[bool, overwrite_option("the --json and --profile files if they exist")] = False,
) -> None:
    """Measure training, sampling and data-loading throughput.

    Training events/s and step time, sampling events/s, data-loader events/s, peak memory and
    model FLOP/s (MFU on known GPUs): medians after warm-up, device-synchronised.
    """
    from genesis_cli.engine.bench import ALL, STUDENT_STEPS, BenchPlan, run_bench

    resolved = resolve_config(config, flags={"diffusion.sampling_steps": sampling_steps, "diffusion.guidance_scale": guidance_scale},
                              flag_names=FLAGS, overrides=overrides or [])
    for notice in resolved.notices:
        print_notice(notice)
    settings = resolved.config
    outputs = [Output(path, flag) for path, flag in ((profile, "--profile"), (json_path, "--json")) if path is not None]
    check_outputs(outputs, {"--data-path": data_path}, overwrite=overwrite)
    confirm_replacing([o.path for o in outputs], overwrite)
    whats = ALL if what == "all" else tuple(w.strip() for w in what.split(","))
    students = STUDENT_STEPS if student_steps is None else tuple(n for n in student_steps if n != 0)
    plan = BenchPlan(whats, tuple(batch_size or (settings.training.batch_size,)), steps, tuple(sampler or ()),
                     device, data_path, baseline, profile is not None, students)
    report = run_bench(settings, plan, print_notice)
    if report.results:
        console(wide=True).print(_table(report, config or "defaults"))
    for loop in report.loops:
        console(wide=True).print(_loop_table(loop))
        print_success(f"the loop ran at {loop.ratio:.0%} of the benchmark's events/s at batch {loop.batch_size:,} "
                      f"({loop.events_per_second(loop.loop):,.1f} against {loop.events_per_second(loop.bench):,.1f})")
    for failure in report.failures:
        print_notice(failure)
    for name, ratio in report.student_speedups.items():
        print_success(f"sample, {name}: {ratio:,.1f}x the events/s of the sampler above at that batch")
    for name, ratio in report.speedups.items():
        print_success(f"{name}: {ratio:,.1f}x the events/s of the original configuration (best batch against best batch)")
    if profile is not None:
        write_text_atomic(profile, "\n".join(p.text() for p in report.profiles))
        print_success(f"profiles written to {profile}")
    if json_path is not None:
        write_text_atomic(json_path, json.dumps(report.to_dict(), indent=2))
        print_success(f"results written to {json_path}")


def _table(report: BenchReport, title: str) -> Table:
    table = Table("what", "variant", "device", "batch", "time/step", "events/s", "peak mem GiB", "TFLOP/s", "MFU",
                  "detail", box=box.SIMPLE_HEAD, title=f"GENESIS bench ({title})", title_justify="left")
    for r in report.results:
        table.add_row(r.what, r.variant, r.device, str(r.batch_size), f"{r.median_seconds * 1000:.1f} ms",
                      f"{r.events_per_second:,.1f}" if r.events_per_second >= 10 else f"{r.events_per_second:.3g}",
                      f"{r.peak_memory_bytes / 2**30:.2f}" if r.peak_memory_bytes else "-",
                      f"{r.flops_per_second / 1e12:.3f}" if r.flops_per_second else "-",
                      f"{100 * r.mfu:.1f}%" if r.mfu is not None else "-", r.detail)
    return table


def _loop_table(loop: LoopComparison) -> Table:
    timing = "device synchronised at each phase" if loop.loop.synchronised else "host wall time"
    table = Table("phase", "genesis train, ms/step", "genesis bench, ms/step", box=box.SIMPLE_HEAD,
                  title=f"Where a step's time goes, batch {loop.batch_size:,}, {loop.loop.steps:,} steps ({timing})",
                  title_justify="left")
    for phase, in_loop, in_bench in loop.rows():
        table.add_row(phase, f"{in_loop:,.2f}", f"{in_bench:,.2f}")
    return table
