"""Training and sampling throughput of every preset, as the Markdown table in docs/performance.md.

    python benchmarks/presets.py [--device cuda] [--train-batch 256] [--sample-batch 1024] [--steps 5]
        [--sampling-steps 20] [--guidance-scale 1] [--presets debug,cnn] [--json presets.json]

Without --train-batch / --sample-batch each preset runs at its own training batch size. Runs the
same workloads as `genesis bench` (one plan per preset), so any row can be reproduced with
`genesis bench --config PRESET --what train,sample --batch-size N`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from genesis_cli.engine.bench import BenchPlan, run_bench
from genesis_cli.engine.models import model_cost
from genesis_cli.settings import preset_names, resolve_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--train-batch", type=int)
    parser.add_argument("--sample-batch", type=int)
    parser.add_argument("--steps", type=int, default=3, help="timed repeats per workload")
    parser.add_argument("--sampling-steps", type=int, default=20)
    parser.add_argument("--guidance-scale", type=float, default=1.0)
    parser.add_argument("--presets", default=",".join(p for p in preset_names() if p != "dit"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows, dump = [], []
    print("| preset | parameters | forward GFLOP/event | train batch | step | train events/s | MFU | "
          "sample batch | sample events/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.presets.split(","):
        config = resolve_config(name, overrides=[f"diffusion.sampling_steps={args.sampling_steps}",
                                                 f"diffusion.guidance_scale={args.guidance_scale}"]).config
        train_batch = args.train_batch or config.training.batch_size
        sample_batch = args.sample_batch or config.training.batch_size
        train = run_bench(config, BenchPlan(("train",), (train_batch,), args.steps, device=args.device), print)
        sample = run_bench(config, BenchPlan(("sample",), (sample_batch,), args.steps, device=args.device), print)
        cost = model_cost(config.model, channels=config.diffusion.event_channels)
        t = train.results[0] if train.results else None
        s = sample.results[0] if sample.results else None
        row = (f"| {name} | {cost.parameters / 1e6:.2f} M | {cost.forward_flops_per_event / 1e9:.2f} | {train_batch} | "
               f"{f'{t.median_seconds * 1000:.0f} ms' if t else 'OOM'} | {f'{t.events_per_second:,.0f}' if t else '-'} | "
               f"{f'{100 * t.mfu:.1f}%' if t and t.mfu is not None else '-'} | {sample_batch} | "
               f"{f'{s.events_per_second:,.1f}' if s else 'OOM'} |")
        print(row, flush=True)
        rows.append(row)
        dump += [r.to_dict() for r in train.results + sample.results]
    if args.json:
        args.json.write_text(json.dumps(dump, indent=2))


if __name__ == "__main__":
    main()
