"""Does the fast default sampler cost fidelity? Classifier AUCs of few-step samplers against 1000-step DDPM.

    python benchmarks/sampler_quality.py CKPT HELDOUT.h5 [--events 2000] [--out DIR] [--device cuda]
        [--sampler dpm-solver:20 --sampler ddim:50 ...] [--reuse]

Samples the held-out file's labels with 1000-step DDPM (the reference) and with each sampler given
as NAME:STEPS (default: the checkpoint's own sampler settings), then runs `genesis evaluate`'s
metrics for each against the held-out simulation, and each few-step sample directly against the
DDPM sample. Issue 7's criterion: the default sampler's classifier AUC against simulation within
0.01 of DDPM's. The direct AUC (few-step vs DDPM, ideally 0.5) isolates the sampler's
discretisation error from the model's own error, so it stays informative for a rough model whose
AUCs against simulation are all near 1.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from genesis_cli.engine.evaluation.report import EvaluationReport, evaluate_files
from genesis_cli.engine.sampling.conditions import labels_from_file
from genesis_cli.engine.sampling.generate import SamplingPlan, sample_to_file
from genesis_cli.engine.sampling.generator import TrainedGenerator

AUC_TOLERANCE = 0.01


def aucs(report: EvaluationReport) -> dict[str, float]:
    return {row.metric: row.value for row in report.summary if "AUC" in row.metric}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("heldout", type=Path)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("sampler_quality"))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--sampler", action="append", default=[], metavar="NAME:STEPS")
    parser.add_argument("--reuse", action="store_true", help="keep sample files already in --out (same labels)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    generator = TrainedGenerator.load(args.checkpoint, args.device)
    d = generator.config.diffusion
    labels = labels_from_file(args.heldout, args.events).labels
    runs = [("ddpm", d.timesteps)] + [(s.split(":")[0], int(s.split(":")[1])) for s in args.sampler]
    if not args.sampler:
        runs.append((d.sampler, d.sampling_steps))
    files = {}
    for name, steps in runs:
        path = args.out / f"{name}_{steps}.h5"
        files[(name, steps)] = path
        if args.reuse and path.exists():
            print(f"reusing {path}")
            continue
        plan = SamplingPlan(name, steps, d.guidance_scale, args.batch_size, seed=1)
        summary = sample_to_file(generator, labels, path, plan, overwrite=True)
        print(f"sampled {name} {steps} steps: {summary.events_per_second:,.1f} events/s", flush=True)
    reference = aucs(evaluate_files(args.heldout, files[runs[0]]))
    print(f"\n| sampler | steps | {' | '.join(reference)} | max |Δ| vs DDPM-1000 | AUC vs DDPM sample |")
    print("|---|---|" + "---|" * (len(reference) + 2))
    for key, path in files.items():
        against_sim = aucs(evaluate_files(args.heldout, path)) if key != runs[0] else reference
        delta = max(abs(against_sim[k] - reference[k]) for k in reference)
        direct = aucs(evaluate_files(files[runs[0]], path, generated_reference=True)) if key != runs[0] else None
        direct_text = " / ".join(f"{v:.3f}" for v in direct.values()) if direct else "-"
        verdict = "" if key == runs[0] else (" ✓" if delta <= AUC_TOLERANCE else " ✗")
        print(f"| {key[0]} | {key[1]} | {' | '.join(f'{against_sim[k]:.3f}' for k in reference)} | "
              f"{delta:.3f}{verdict} | {direct_text} |", flush=True)


if __name__ == "__main__":
    main()
