"""The GPU check's stages: each measures one thing and records rows as it goes.

A stage runs in its own process (runner.py) and is given a deadline; it stops starting new
measurements when the next one would not fit, so its rows so far are kept even when the runner
has to kill it at its cap. Timing goes through the same code as `genesis bench` (bench/measure.py,
bench/workloads.py) and the fidelity benchmark (bench/fidelity.py).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from genesis_cli.engine.bench.accounting import compare_loop
from genesis_cli.engine.bench.baseline import ORIGINAL_FUSED_OPTIMIZER, original_configuration
from genesis_cli.engine.bench.check.plan import BACKGROUND_STAGE, CheckPlan, CheckRow
from genesis_cli.engine.bench.fidelity import ROW_COLUMNS, FidelityPlan, run_fidelity, short_number, simulate_inputs
from genesis_cli.engine.bench.measure import BenchResult, Workload, median_seconds
from genesis_cli.engine.bench.suite import STUDENT_STEPS, try_measure
from genesis_cli.engine.bench.workloads import original_sample_workload, sample_workload, train_workload
from genesis_cli.engine.comparison import parse_budget
from genesis_cli.engine.data.benchmark import benchmark_loader
from genesis_cli.engine.data.subset import write_subset
from genesis_cli.engine.distill.teacher import untrained_student
from genesis_cli.engine.runtime.device import resolve_device
from genesis_cli.settings import ExperimentConfig, derive_config, resolve_config

Record = Callable[[CheckRow], None]
#: A stage keeps this share of its cap (at least 3 s) in hand for the measurement under way.
RESERVE_SHARE = 0.1
LABEL = "gpu check"


class Clock:
    """Seconds left before a stage's deadline, and whether another measurement fits."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.reserve = max(3.0, RESERVE_SHARE * seconds)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def fits(self, expected_seconds: float) -> bool:
        return self.left() > expected_seconds + self.reserve

    def share(self, parts: int) -> Clock:
        """A clock for the next of ``parts`` equal shares of the time left."""
        return Clock(max(0.0, self.left()) / max(1, parts))


def environment(plan: CheckPlan, record: Record, clock: Clock) -> None:
    """The device, the software, and the measured matmul ceiling that MFU is read against."""
    device = resolve_device(plan.device)
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        record(CheckRow("environment", "device", None, "", f"{props.name}, {props.total_memory / 2**30:.0f} GiB, "
                        f"{props.multi_processor_count} SMs, compute capability {props.major}.{props.minor}, "
                        f"driver {_nvidia_smi('driver_version')}", what="device", variant=props.name))
    else:
        record(CheckRow("environment", "device", None, "", f"CPU: {platform.processor() or platform.machine()}, "
                        f"{torch.get_num_threads()} torch threads", what="device", variant="CPU"))
    record(CheckRow("environment", "software", None, "", f"torch {torch.__version__}, CUDA {torch.version.cuda}, "
                    f"cuDNN {torch.backends.cudnn.version()}, Python {platform.python_version()}"))
    n, dtype = plan.matmul_size, getattr(torch, plan.matmul_dtype)
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    seconds = median_seconds(lambda: a @ b, device, repeats=10)
    tflops = 2 * n**3 / seconds / 1e12
    record(CheckRow("environment", f"{plan.matmul_dtype} matmul {n}x{n}x{n}", tflops, "TFLOP/s",
                    "the measured ceiling: median of 10 after 3 warm-ups", what="ceiling", numbers={"tflops": tflops}))


def train(plan: CheckPlan, record: Record, clock: Clock) -> None:
    """For each preset: an eager batch sweep by doubling up to the first OOM, then compiled at the best batches."""
    device = resolve_device(plan.device)
    for index, preset in enumerate(plan.train_presets):
        share = clock.share(len(plan.train_presets) - index)
        config = _preset(preset, plan)
        eager = derive_config(config, {"training.compile": False}, LABEL)
        best = _sweep(plan, preset, eager, device, record, share)
        if not best:
            continue
        compiled = derive_config(config, {"training.compile": True, "training.compile_backend": plan.compile_backend},
                                 LABEL)
        last = plan.compile_estimate_s
        for batch in best:
            if not share.fits(last):
                record(_note("train", preset, f"compiled runs stopped by the stage's time cap before batch {batch}"))
                break
            started = time.monotonic()
            _time_train(plan, preset, "compiled", compiled, batch, device, record)
            last = time.monotonic() - started


def _sweep(plan: CheckPlan, preset: str, config: ExperimentConfig, device: torch.device, record: Record,
           clock: Clock) -> list[int]:
    """Eager training events/s at batch sweep_start, x2, ... up to the first OOM; the batches, best first."""
    rates: dict[int, float] = {}
    batch, last = plan.sweep_start, 0.0
    while batch <= plan.sweep_max:
        if not clock.fits(2 * last + plan.compile_estimate_s):
            record(_note("train", preset, f"sweep stopped by the stage's time cap before batch {batch}"))
            break
        started = time.monotonic()
        result = _time_train(plan, preset, "eager", config, batch, device, record)
        last = time.monotonic() - started
        if result is None:
            break
        rates[batch] = result.events_per_second
        batch *= 2
    else:
        record(_note("train", preset, f"no OOM up to batch {plan.sweep_max} (the sweep's limit)"))
    return sorted(rates, key=rates.__getitem__, reverse=True)[:2]


def _time_train(plan: CheckPlan, preset: str, variant: str, config: ExperimentConfig, batch: int,
                device: torch.device, record: Record) -> BenchResult | None:
    notes: list[str] = []
    if variant == "compiled":
        torch._dynamo.reset()  # compile for this batch alone, as a training run with one batch size does
    result = _measured(record, "train", f"{preset}, {variant}, batch {batch}",
                       lambda: train_workload(config, batch, device, on_message=notes.append), plan.repeats,
                       what="train", preset=preset, variant=variant, batch=batch)
    for note in notes:
        record(_note("train", preset, note))
    return result


def _measured(record: Record, stage: str, item: str, build: Callable[[], Workload], repeats: int, *,
              what: str, preset: str, variant: str, batch: int) -> BenchResult | None:
    """Time one workload and record its row. Out of GPU memory, and any other error, is a row too:
    a benchmark reports what broke and goes on measuring the rest."""
    try:
        measured = try_measure(build, repeats)
    except Exception as exc:  # noqa: BLE001 - reported as a failure row, never swallowed silently
        message = (str(exc).strip().splitlines() or [""])[0][:200]
        record(CheckRow(stage, item, None, "", f"failed: {type(exc).__name__}: {message}", what="failure",
                        preset=preset, variant=variant, numbers={"batch": batch}))
        return None
    if measured is None:
        record(CheckRow(stage, item, None, "", "out of GPU memory", what=what, preset=preset, variant=variant,
                        numbers={"batch": batch}))
        return None
    record(_bench_row(stage, item, measured[0], preset, variant))
    return measured[0]


def baseline(plan: CheckPlan, record: Record, clock: Clock) -> None:
    """The original configuration (one token per DOM, fp16, eager; 1000 guided DDPM steps) at its batches."""
    device = resolve_device(plan.device)
    original = original_configuration(_preset(plan.baseline_preset, plan))
    preset = plan.baseline_preset
    for batch in plan.baseline_batches:
        for what, build in (
                ("train", lambda b=batch: train_workload(original, b, device, variant="original",
                                                         fused=ORIGINAL_FUSED_OPTIMIZER)),
                ("sample", lambda b=batch: original_sample_workload(original, b, device))):
            if not clock.fits(0):
                record(_note("baseline", preset, f"stopped by the stage's time cap before {what} at batch {batch}"))
                return
            _measured(record, "baseline", f"original {what}, {preset}, batch {batch}", build, plan.repeats,
                      what=what, preset=preset, variant="original", batch=batch)


def sampling(plan: CheckPlan, record: Record, clock: Clock) -> None:
    """The default sampler and step count at each batch, with guidance off (the default) and on; then a
    distilled student (untrained weights: speed only) at 1, 2 and 4 steps with the guidance folded in, at the
    largest batch."""
    device = resolve_device(plan.device)
    config = _preset(plan.sample_preset, plan)
    for scale in plan.guidance_scales:
        guided = derive_config(config, {"diffusion.guidance_scale": scale}, LABEL)
        for batch in plan.sample_batches:
            if not clock.fits(0):
                record(_note("sampling", plan.sample_preset, f"stopped by the stage's time cap before batch {batch}"))
                return
            _measured(record, "sampling", f"{plan.sample_preset}, guidance {scale:g}, batch {batch}",
                      lambda c=guided, b=batch: sample_workload(c, b, device), plan.repeats, what="sample",
                      preset=plan.sample_preset, variant=f"guidance {scale:g}", batch=batch)
    folded = max(plan.guidance_scales)  # a distilled student of the guided sampler: one pass per step
    for steps in STUDENT_STEPS:
        student = untrained_student(derive_config(config, {"diffusion.guidance_scale": folded}, LABEL), steps)
        for batch in plan.sample_batches[-1:]:  # the largest batch (issue 27's target: batch 2048)
            if not clock.fits(0):
                record(_note("sampling", plan.sample_preset, f"stopped by the stage's time cap before the student "
                                                             f"at {steps} steps, batch {batch}"))
                return
            _measured(record, "sampling", f"{plan.sample_preset}, student {steps} steps (guidance {folded:g} "
                      f"folded in), batch {batch}", lambda c=student, b=batch: sample_workload(c, b, device), plan.repeats,
                      what="sample", preset=plan.sample_preset, variant=f"student {steps}", batch=batch)


def prepare(plan: CheckPlan, record: Record, clock: Clock) -> None:
    """Simulate the training and held-out files (CPU work, run beside the GPU stages)."""
    started = time.monotonic()
    simulate_inputs(_fidelity_plan(plan), say=lambda text: None)
    seconds = time.monotonic() - started
    events = plan.train_events + plan.heldout_events
    record(CheckRow(BACKGROUND_STAGE, "simulated event files", events / seconds, "events/s",
                    f"{plan.train_events:,} training + {plan.heldout_events:,} held-out events in {seconds:.0f} s "
                    "(one CPU core, beside the GPU stages)", what="simulate"))


def data(plan: CheckPlan, record: Record, clock: Clock) -> None:
    """Loader events/s on the first ``loader_events`` of the simulated training file: in memory, then streamed
    with workers, each timed within its share of the cap (the first run loaded all 50,000 events into memory
    before its first row and was killed at its cap with nothing printed)."""
    events = min(plan.loader_events, plan.train_events)
    subset = write_subset(plan.train_file, np.arange(events), plan.work_dir / "loader.h5", overwrite=True)
    modes = ((False, 0), (True, plan.loader_workers))
    for index, (stream, workers) in enumerate(modes):
        share = clock.share(len(modes) - index)
        if not clock.fits(0):
            record(_note("data", "", "stopped by the stage's time cap"))
            return
        result = benchmark_loader(subset, batch_size=plan.loader_batch, epochs=2, num_workers=workers,
                                  stream=stream, max_seconds=max(1.0, share.left() - share.reserve))
        record(CheckRow("data", f"loader, {result.mode} mode, {workers} workers", result.events_per_second,
                        "events/s", f"batch {result.batch_size}, {events:,} events, setup "
                        f"{result.setup_seconds:.1f} s", what="data", variant=result.mode))


def loop(plan: CheckPlan, record: Record, clock: Clock) -> None:
    """`genesis train`'s loop on the simulated training file beside the benchmark's step, at the fidelity
    preset and batch, both eager (issue 22: the loop trained at 38-52% of the benchmark's speed)."""
    config = derive_config(_preset(plan.fidelity_preset, plan), {"training.compile": False}, LABEL)
    notes: list[str] = []
    found = compare_loop(config, plan.train_file, plan.fidelity_batch, plan.loop_steps, resolve_device(plan.device),
                         notes.append)
    for note in notes:
        record(_note("loop", plan.fidelity_preset, note))
    split = ", ".join(f"{phase} {loop_ms:.1f}/{bench_ms:.1f}" for phase, loop_ms, bench_ms in found.rows()[:-1])
    for name, account in (("genesis train loop", found.loop), ("genesis bench step", found.bench)):
        record(CheckRow("loop", f"{plan.fidelity_preset}, eager, batch {plan.fidelity_batch}: {name}",
                        found.events_per_second(account), "events/s", f"{account.steps} steps after warm-up",
                        what="loop", preset=plan.fidelity_preset, variant=name,
                        numbers={"batch": float(plan.fidelity_batch)}))
    record(CheckRow("loop", "loop / bench", 100 * found.ratio, "%", f"ms per step, loop/bench: {split}",
                    what="loop", preset=plan.fidelity_preset))


def cli(plan: CheckPlan, record: Record, clock: Clock) -> None:
    """The commands users run, as they run them, each a row with its exit code and time: simulate, train,
    resume, sample, evaluate, demo. A failing command fails the check."""
    work = plan.work_dir / "cli"
    work.mkdir(parents=True, exist_ok=True)
    device = ["--device", plan.device]
    runs = ["--set", "checkpoint_dir=checkpoints", "--set", "log_dir=logs"]
    commands = [
        ["simulate", "data.h5", "--events", str(plan.cli_events), "--seed", str(plan.seed)],
        ["simulate", "test.h5", "--events", str(plan.cli_sample_events), "--seed", str(plan.seed + 1)],
        ["train", "--config", plan.cli_preset, "--data-path", "data.h5", "--max-steps", str(plan.cli_steps),
         "--experiment-name", "cli", *device, *runs],
        ["resume", "checkpoints/cli", "--max-steps", str(2 * plan.cli_steps), *device],
        ["sample", "--checkpoint", "checkpoints/cli", "--labels-from", "test.h5", "--output", "generated.h5",
         "--steps", "5", *device],
        ["evaluate", "--real-data", "test.h5", "--generated-data", "generated.h5", "--json", "evaluation.json"],
        ["demo", "--directory", "demo", "--events", str(plan.demo_events), "--test-events", str(plan.demo_test_events)],
    ]
    for index, arguments in enumerate(commands):
        if not clock.fits(0):
            left = " ".join(f"genesis {c[0]}" for c in commands[index:])
            record(CheckRow("cli", "stopped", None, "", f"the stage's time cap came before: {left}", what="failure"))
            return
        _run_command(arguments, work, record, clock)


def _run_command(arguments: list[str], work: Path, record: Record, clock: Clock) -> None:
    """One `genesis` command in ``work``, as a script runs it (no terminal: no questions), timed."""
    item = "genesis " + " ".join(arguments)
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "genesis_cli", *arguments], cwd=work, capture_output=True,
                              text=True, timeout=max(1.0, clock.left()), env={**os.environ, "CI": "1"})
    except subprocess.TimeoutExpired:
        record(CheckRow("cli", item, None, "", f"timed out after {time.monotonic() - started:.0f} s",
                        what="failure"))
        return
    seconds = time.monotonic() - started
    lines = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    last = lines[-1][:160] if lines else "no output"
    ok = done.returncode == 0
    record(CheckRow("cli", item, seconds if ok else None, "s", f"exit {done.returncode}: {last}",
                    what="command" if ok else "failure", numbers={"exit": done.returncode, "seconds": seconds}))


def fidelity(plan: CheckPlan, record: Record, clock: Clock) -> None:
    """The fidelity benchmark against training minutes: the preset trained once per budget (each with its
    whole schedule), 2,000 held-out labels sampled and judged, while the stage's cap allows; then the curve."""
    preset, row = plan.fidelity_preset, "fidelity"
    curve = []
    for budget in plan.fidelity_budgets:
        needed = budget_seconds(budget) + plan.fidelity_overhead_s
        if not clock.fits(needed):
            record(_note(row, preset, f"budget {budget} not run: it needs ~{needed:.0f} s, the cap leaves "
                                      f"{max(clock.left(), 0):.0f} s (rerun: --stages fidelity --cap fidelity=SECONDS)"))
            break
        result = run_fidelity(replace(_fidelity_plan(plan), budget=budget, tag=budget),
                              say=lambda text: print(text, flush=True))
        curve.append(result)
        aucs = "; ".join(f"{name} {value:.3f}" for name, value in result.aucs.items())
        record(CheckRow(row, f"{preset}, budget {budget}, batch {plan.fidelity_batch}: verdict", None, "",
                        f"{result.verdict}; {aucs}", what="verdict", preset=preset, variant=budget,
                        numbers={**{name: float(value) for name, value in result.aucs.items()},
                                 "training_minutes": result.training_seconds / 60}))
        record(CheckRow(row, f"budget {budget}: training", result.train_events_per_second, "events/s",
                        f"{result.steps:,} steps in {result.training_seconds:.0f} s", what="train", preset=preset,
                        variant=f"fidelity {budget}", numbers={"steps": result.steps}))
        record(CheckRow(row, f"budget {budget}: sampling {plan.heldout_events:,} held-out labels",
                        result.sampling_events_per_second, "events/s", "default sampler", what="sample",
                        preset=preset, variant=f"fidelity {budget}"))
        physics = ", ".join(f"{title} {short_number(getattr(result.generated, name))} "
                            f"({short_number(getattr(result.simulation, name))})"
                            for name, title in ROW_COLUMNS.items())
        record(CheckRow(row, f"budget {budget}: physics, generated (simulation)", None, "", physics,
                        what="physics", preset=preset, variant=budget))
        if result.spread:
            record(CheckRow(row, f"budget {budget}: spread at fixed labels, variance gen/sim", None, "",
                            "; ".join(f"{name} {text}" for name, text in result.spread.items()), what="spread",
                            preset=preset, variant=budget))
    if len(curve) > 1:
        points = ", ".join(f"{r.training_seconds / 60:.1f} min: {next(iter(r.aucs.values())):.3f}" for r in curve)
        record(CheckRow(row, "AUC (high-level) against training minutes", None, "", points, what="curve",
                        preset=preset))


def budget_seconds(budget: str) -> float:
    """A time budget's seconds; 0 for a budget in steps (its time is not known ahead)."""
    return parse_budget(budget)[1] or 0.0


def _fidelity_plan(plan: CheckPlan) -> FidelityPlan:
    steps = () if plan.fidelity_sampling_steps is None else (f"diffusion.sampling_steps={plan.fidelity_sampling_steps}",)
    return FidelityPlan(plan.fidelity_preset, plan.fidelity_budgets[0], plan.train_events, plan.heldout_events,
                        plan.train_file.parent, seed=plan.seed, device=plan.device,
                        overrides=(f"training.batch_size={plan.fidelity_batch}", *steps), keep_inputs=True,
                        spread_labels=plan.fidelity_spread[0], spread_draws=plan.fidelity_spread[1])


def _preset(name: str, plan: CheckPlan) -> ExperimentConfig:
    return resolve_config(name, flags={"device": plan.device, "seed": plan.seed}).config


def _bench_row(stage: str, item: str, result: BenchResult, preset: str, variant: str) -> CheckRow:
    numbers = {"batch": result.batch_size, "events_per_second": result.events_per_second,
               "ms": result.median_seconds * 1000}
    parts = [f"{result.median_seconds * 1000:.1f} ms"]
    if result.flops_per_second:
        numbers["tflops"] = result.flops_per_second / 1e12
        parts.append(f"{numbers['tflops']:.1f} TFLOP/s")
    if result.mfu is not None:
        numbers["mfu"] = result.mfu
        parts.append(f"MFU {100 * result.mfu:.1f}%")
    if result.peak_memory_bytes:
        numbers["peak_gib"] = result.peak_memory_bytes / 2**30
        parts.append(f"peak {numbers['peak_gib']:.1f} GiB")
    return CheckRow(stage, item, result.events_per_second, "events/s", ", ".join(parts) + f"; {result.detail}",
                    what=result.what, preset=preset, variant=variant, numbers=numbers)


def _note(stage: str, preset: str, text: str) -> CheckRow:
    return CheckRow(stage, "note", None, "", text, what="note", preset=preset)


def describe_device(device: str) -> str:
    """The device's name without initialising CUDA in the calling process (nvidia-smi), for the table's
    header when the environment stage did not run (a --stages rerun)."""
    if not device.startswith("cuda"):
        return "CPU"
    index = device.partition(":")[2] or "0"
    return _nvidia_smi("name", index)


def _nvidia_smi(field: str, index: str = "0") -> str:
    if shutil.which("nvidia-smi") is None:
        return "unknown (no nvidia-smi)"
    done = subprocess.run(["nvidia-smi", f"--query-gpu={field}", "--format=csv,noheader", f"--id={index}"],
                          capture_output=True, text=True, check=False, timeout=20)
    return done.stdout.strip().splitlines()[0] if done.returncode == 0 and done.stdout.strip() else "unknown"


#: Stage name -> the function that runs it.
STAGE_FUNCTIONS: dict[str, Callable[[CheckPlan, Record, Clock], None]] = {
    "environment": environment, "train": train, "baseline": baseline, "sampling": sampling, "data": data,
    "loop": loop, "cli": cli, "fidelity": fidelity, BACKGROUND_STAGE: prepare}
