"""`genesis bench` as a plan and a report: which workloads at which batch sizes, and what came out.

A batch size that does not fit on the GPU is reported as a failure and the sweep goes on, so one
command can find a model's most efficient batch size. With ``baseline`` every training batch size
and sampling batch size is also run in the original GENESIS configuration (bench/baseline.py) and
the report gives the speed-ups, best against best.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from genesis_cli.engine.bench.accounting import LoopComparison, compare_loop
from genesis_cli.engine.bench.baseline import ORIGINAL_FUSED_OPTIMIZER, original_configuration, speedup
from genesis_cli.engine.bench.measure import BenchResult, Workload, measure
from genesis_cli.engine.bench.profiling import Profile, profile_workload
from genesis_cli.engine.bench.workloads import bench_data, original_sample_workload, sample_workload, train_workload
from genesis_cli.engine.distill.teacher import untrained_student
from genesis_cli.engine.runtime.device import resolve_device
from genesis_cli.errors import UsageError
from genesis_cli.settings import ExperimentConfig, derive_config

WHATS = ("train", "sample", "data", "loop")
#: What ``--what all`` runs (the loop needs an event file and trains a throwaway run: asked for by name).
ALL = ("train", "sample", "data")
#: Step counts of a distilled student that `--what sample` times beside the configured sampler (issue 27).
STUDENT_STEPS = (1, 2, 4)
#: Profiled repeats per workload with --profile (after warm-up).
PROFILE_REPEATS = 3


@dataclass(frozen=True)
class BenchPlan:
    whats: tuple[str, ...]
    batch_sizes: tuple[int, ...]
    repeats: int
    samplers: tuple[str, ...] = ()  # empty: the config's sampler
    device: str | None = None  # None: the config's device
    data_path: Path | None = None
    baseline: bool = False
    profile: bool = False
    student_steps: tuple[int, ...] = STUDENT_STEPS  # a distilled student's sampling, beside the sampler's

    def __post_init__(self) -> None:
        unknown = [w for w in self.whats if w not in WHATS]
        if unknown or not self.whats:
            raise UsageError(f"--what {','.join(unknown) or '(none)'}: choose {', '.join(WHATS)} or all")
        if self.repeats <= 0:
            raise UsageError(f"--steps {self.repeats}: must be > 0")
        if any(s <= 0 for s in self.student_steps):
            raise UsageError(f"--student-steps {', '.join(map(str, self.student_steps))}: every step count must be > 0")
        if not self.batch_sizes or any(b <= 0 for b in self.batch_sizes):
            raise UsageError(f"--batch-size {', '.join(map(str, self.batch_sizes))}: every batch size must be > 0")


@dataclass
class BenchReport:
    results: list[BenchResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # "train, batch 4096: out of GPU memory"
    profiles: list[Profile] = field(default_factory=list)
    loops: list[LoopComparison] = field(default_factory=list)

    @property
    def speedups(self) -> dict[str, float]:
        """Best ours / best original events/s, per workload that has both."""
        found = {what: speedup(self.results, what) for what in WHATS}
        return {what: value for what, value in found.items() if value is not None}

    @property
    def student_speedups(self) -> dict[str, float]:
        """Each student row's events/s over the configured sampler's at the same batch size
        ("student, 4 steps, batch 256" -> ratio)."""
        teacher = {r.batch_size: r for r in self.results if r.what == "sample" and r.variant == "genesis"}
        return {f"{r.variant}, batch {r.batch_size}": r.events_per_second / teacher[r.batch_size].events_per_second
                for r in self.results if r.what == "sample" and r.variant.startswith("student")
                and r.batch_size in teacher}

    def to_dict(self) -> dict[str, Any]:
        return {"results": [r.to_dict() for r in self.results], "failures": self.failures,
                "speedup_over_original": self.speedups, "student_speedup_over_sampler": self.student_speedups,
                "loops": [loop.to_dict() for loop in self.loops]}


def run_bench(config: ExperimentConfig, plan: BenchPlan, on_message: Callable[[str], None]) -> BenchReport:
    """Run ``plan`` for ``config``; messages (skips, compilation fallbacks) go to ``on_message``."""
    device = resolve_device(plan.device or config.device)
    report = BenchReport()
    data_path = plan.data_path or config.data.h5_path
    if plan.whats == ("data",) and data_path is None:
        raise UsageError("no event file for the data benchmark", hint="pass --data-path FILE.h5")
    if "loop" in plan.whats and data_path is None:
        raise UsageError("--what loop trains on an event file: none given",
                         hint="pass --data-path FILE.h5 (e.g. one written by `genesis simulate`)")
    original = original_configuration(config) if plan.baseline else None
    for batch in plan.batch_sizes:
        if "train" in plan.whats:
            _run(report, plan, f"train, batch {batch}",
                 lambda b=batch: train_workload(config, b, device, on_message=on_message))
            if original is not None:
                _run(report, plan, f"train (original), batch {batch}",
                     lambda b=batch: train_workload(original, b, device, variant="original",
                                                    fused=ORIGINAL_FUSED_OPTIMIZER, on_message=on_message))
        if "sample" in plan.whats:
            for sampler in plan.samplers or (config.diffusion.sampler,):
                chosen = derive_config(config, {"diffusion.sampler": sampler}, "--sampler")
                _run(report, plan, f"sample ({sampler}), batch {batch}",
                     lambda b=batch, c=chosen: sample_workload(c, b, device, on_message))
            for steps in plan.student_steps:
                student = untrained_student(config, steps)
                _run(report, plan, f"sample (student, {steps} steps), batch {batch}",
                     lambda b=batch, c=student: sample_workload(c, b, device, on_message))
            if original is not None:
                _run(report, plan, f"sample (original), batch {batch}",
                     lambda b=batch: original_sample_workload(original, b, device))
        if "loop" in plan.whats:
            assert data_path is not None
            report.loops.append(compare_loop(config, Path(data_path), batch, plan.repeats, device, on_message))
    if "data" in plan.whats:
        if data_path is None:
            on_message("data benchmark skipped: pass --data-path FILE.h5")
        else:
            report.results.append(bench_data(Path(data_path), config, plan.batch_sizes[0]))
    return report


def _run(report: BenchReport, plan: BenchPlan, label: str, build: Callable[[], Workload]) -> None:
    """Build, time (and profile) one workload; out of GPU memory is a reported failure, not a crash."""
    measured = try_measure(build, plan.repeats, profile=plan.profile)
    if measured is None:
        report.failures.append(f"{label}: out of GPU memory")
        return
    result, profile = measured
    report.results.append(result)
    if profile is not None:
        report.profiles.append(profile)


def try_measure(build: Callable[[], Workload], repeats: int, *, profile: bool = False
                ) -> tuple[BenchResult, Profile | None] | None:
    """Build and time one workload (and profile it); None when it runs out of GPU memory.

    The workload is dropped and the CUDA cache emptied either way, so a sweep can go on after an OOM.
    """
    workload: Workload | None = None
    try:
        workload = build()
        result = measure(workload, repeats)
        return result, (profile_workload(workload, PROFILE_REPEATS) if profile else None)
    except torch.cuda.OutOfMemoryError:
        return None
    finally:
        del workload
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
