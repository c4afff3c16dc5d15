"""The distillation benchmark: a student of the fidelity benchmark's teacher, judged beside it.

On the files and the teacher run of a fidelity run (bench/fidelity.py, same ``out_dir``): distil the
teacher for a budget (`genesis distill`), generate the held-out labels with the teacher (its sampler
and steps, at the folded guidance scale) and with the student at each step count, and judge every
file against the held-out simulation (with the training file: the memorisation test) and each
student's against the teacher's events. Sampling rates are measured in this one process, on one
machine, so their ratios hold.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from genesis_cli.engine import workflows
from genesis_cli.engine.atomic_files import write_text_atomic
from genesis_cli.engine.bench.fidelity import FidelityPlan, aucs_of, copies_of, short_number, simulate_inputs
from genesis_cli.engine.comparison import budget_flags, parse_budget
from genesis_cli.engine.diffusion.gaussian import passes_per_step
from genesis_cli.engine.distill.teacher import student_config
from genesis_cli.engine.evaluation.copies import MEMORISED
from genesis_cli.engine.evaluation.physics import PhysicsSummary, summarise
from genesis_cli.engine.evaluation.report import evaluate_files
from genesis_cli.engine.runs.checkpoint import load_checkpoint
from genesis_cli.engine.runs.store import FINAL, sampling_checkpoint
from genesis_cli.engine.training import session
from genesis_cli.errors import UsageError


@dataclass(frozen=True)
class DistillPlan:
    teacher: FidelityPlan  # the fidelity run whose teacher and files are distilled and judged
    budget: str = "30m"  # distillation steps (2000) or time (30m)
    guidance_scale: float = 1.0  # folded into the student; the teacher samples at it too
    steps: tuple[int, ...] = (1, 2, 4)


@dataclass
class SampledRow:
    name: str
    steps: int
    passes_per_event: int  # network evaluations per event
    events_per_second: float
    aucs: dict[str, float]  # against the held-out simulation
    aucs_vs_teacher: dict[str, float]  # against the teacher's events (students only)
    verdict: str
    memorisation: str
    generated: PhysicsSummary
    shifts: dict[str, str]
    file: str


def run_distilled(plan: DistillPlan, say: Callable[[str], None] = print) -> list[SampledRow]:
    """The teacher's row, then one row per student step count."""
    fidelity = plan.teacher
    out = fidelity.out_dir
    train_file, heldout = simulate_inputs(replace(fidelity, keep_inputs=True), say)  # the teacher's files
    teacher_run = out / "checkpoints" / fidelity.named("fidelity")
    if not (teacher_run / FINAL).exists():
        raise UsageError(f"{teacher_run}: no trained teacher", hint="run the fidelity benchmark in this --out first")
    scale = plan.guidance_scale
    tag = f"g{scale:g}"
    student_run = _distil(plan, sampling_checkpoint(teacher_run), train_file, tag, say)
    teacher_file = out / f"teacher-{tag}.h5"
    rows = [_row(plan, "teacher", teacher_run, heldout, train_file, teacher_file, None, say, guidance=scale)]
    for steps in plan.steps:
        generated = out / f"student-{tag}-{steps}.h5"
        rows.append(_row(plan, "student", student_run, heldout, train_file, generated, steps, say,
                         teacher_file=teacher_file))
    write_text_atomic(out / f"distilled-{tag}.json", json.dumps([asdict(r) for r in rows], indent=2, default=float))
    return rows


def _distil(plan: DistillPlan, teacher: Path, train_file: Path, tag: str, say: Callable[[str], None]) -> Path:
    out = plan.teacher.out_dir
    name = f"student-{tag}"
    run_dir = out / "checkpoints" / name
    if plan.teacher.reuse and (run_dir / FINAL).exists():
        say(f"reusing the student in {run_dir} ({load_checkpoint(run_dir / FINAL).global_step:,} steps)")
        return run_dir
    values: dict[str, Any] = {"experiment_name": name, "data.h5_path": str(train_file), "device": plan.teacher.device,
                              "checkpoint_dir": str(out / "checkpoints"), "log_dir": str(out / "logs"),
                              "distill.guidance_scale": plan.guidance_scale,
                              **budget_flags(parse_budget(plan.budget))}
    config = student_config(teacher, values, {}, list(plan.teacher.overrides))
    say(f"distilling {teacher} for {plan.budget} (guidance {plan.guidance_scale:g} folded in)")
    started = time.perf_counter()
    trained = workflows.train(session.prepare_new_run(config, overwrite=True))
    say(f"distilled {trained.steps:,} steps in {time.perf_counter() - started:.0f} s")
    return run_dir


def _row(plan: DistillPlan, name: str, run: Path, heldout: Path, train_file: Path, generated: Path,
         steps: int | None, say: Callable[[str], None], *, guidance: float | None = None,
         teacher_file: Path | None = None) -> SampledRow:
    seed = plan.teacher.seed
    generator, sampled = workflows.sample_heldout(run, heldout, generated, seed=seed, device=plan.teacher.device,
                                                  steps=steps, guidance_scale=guidance)
    d = generator.config.diffusion
    used_steps = steps or d.sampling_steps
    passes = used_steps * passes_per_step(d.guidance_scale if guidance is None else guidance)
    say(f"{name}: {sampled.events:,} events, {d.sampler} {used_steps} steps, in {sampled.seconds:.1f} s "
        f"({sampled.events_per_second:,.1f} events/s)")
    report = workflows.evaluate(heldout, generated, seed=seed, training=train_file)
    versus: dict[str, float] = {}
    if teacher_file is not None:
        versus = aucs_of(evaluate_files(teacher_file, generated, seed=seed, generated_reference=True))
    return SampledRow(f"{name}, {d.sampler}", used_steps, passes, sampled.events_per_second, aucs_of(report), versus,
                      report.overall_verdict, copies_of(report).get(MEMORISED, "-"),
                      summarise(report.generated, report.real), {s.name: s.text() for s in report.shifts},
                      str(generated))


def markdown_table(rows: list[SampledRow], simulation: PhysicsSummary | None = None) -> str:
    """One row per sampled file: speed, AUCs against simulation and against the teacher, physics, memorisation."""
    titles = ["model, sampler", "steps", "passes/event", "events/s", "AUC high-level / per-DOM vs simulation",
              "AUC high-level vs teacher", "hits/event", "npe median", "CoG-vertex m", "LineFit angle", "memorisation",
              "verdict"]
    lines = ["| " + " | ".join(titles) + " |", "|" + "---|" * len(titles)]
    for r in rows:
        aucs = " / ".join(f"{v:.3f}" for v in r.aucs.values())
        versus = " / ".join(f"{v:.3f}" for v in r.aucs_vs_teacher.values()) or "-"
        g = r.generated
        cells = [r.name, str(r.steps), str(r.passes_per_event), f"{r.events_per_second:,.1f}", aucs, versus,
                 short_number(g.hits_per_event), short_number(g.npe_median), short_number(g.median_cog_to_vertex_m),
                 short_number(g.median_linefit_angle_deg), r.memorisation, r.verdict]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
