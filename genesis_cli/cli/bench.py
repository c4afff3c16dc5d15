"""``genesis bench``: training, sampling and data-loading throughput."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.table import Table

from genesis_cli.cli.output import console, print_notice, print_success
from genesis_cli.errors import UsageError
from genesis_cli.settings import resolve_config

EXAMPLES = (
    "[bold]Examples[/bold]\n\n"
    "  genesis bench --config default --what train --batch-size 256 --device cuda\n\n"
    "  genesis bench --config debug --what all --steps 3 --data-path toy.h5 --json bench.json"
)
WHATS = ("train", "sample", "data", "all")


def bench_command(
    config: Annotated[Optional[str], typer.Option("--config", "-c", metavar="PRESET|FILE", help="Preset or YAML file.")] = None,
    what: Annotated[str, typer.Option(help="train, sample, data or all.")] = "all",
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Events per step (default: the config's).")] = None,
    steps: Annotated[int, typer.Option(help="Timed repeats (after 3 warm-up repeats).")] = 10,
    device: Annotated[Optional[str], typer.Option(help="auto, cpu, cuda or cuda:N.")] = None,
    data_path: Annotated[Optional[Path], typer.Option("--data-path", help="Event file for the data benchmark.")] = None,
    overrides: Annotated[Optional[list[str]], typer.Option("--set", metavar="KEY=VALUE", help="Override any key.")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", metavar="FILE", help="Write the results as JSON.")] = None,
) -> None:
    """Measure training, sampling and data-loading throughput.

    Training events/s and step time, sampling events/s, data-loader events/s, peak memory and
    model FLOP/s (MFU on known GPUs): medians after warm-up, device-synchronised.
    """
    from genesis_cli.engine.bench import bench_data, bench_sample, bench_train

    if what not in WHATS:
        raise UsageError(f"--what {what!r}: choose {', '.join(WHATS)}")
    if steps <= 0:
        raise UsageError(f"--steps {steps}: must be > 0")
    settings = resolve_config(config, overrides=overrides or []).config
    batch = batch_size or settings.training.batch_size
    results = []
    if what in ("train", "all"):
        results.append(bench_train(settings, batch, steps, device))
    if what in ("sample", "all"):
        results.append(bench_sample(settings, batch, steps, device))
    if what in ("data", "all"):
        path = data_path or settings.data.h5_path
        if path is None:
            if what == "data":
                raise UsageError("no event file for the data benchmark", hint="pass --data-path FILE.h5")
            print_notice("data benchmark skipped: pass --data-path FILE.h5")
        else:
            results.append(bench_data(Path(path), settings, batch))
    table = Table("what", "device", "batch", "time/step", "events/s", "peak mem GiB", "TFLOP/s", "MFU", "detail",
                  box=box.SIMPLE_HEAD, title=f"GENESIS bench ({config or 'defaults'})", title_justify="left")
    for r in results:
        table.add_row(r.what, r.device, str(r.batch_size), f"{r.median_seconds * 1000:.1f} ms", f"{r.events_per_second:,.1f}",
                      f"{r.peak_memory_bytes / 2**30:.2f}" if r.peak_memory_bytes else "-",
                      f"{r.flops_per_second / 1e12:.3f}" if r.flops_per_second else "-",
                      f"{100 * r.mfu:.1f}%" if r.mfu is not None else "-", r.detail)
    console(wide=True).print(table)
    if json_path is not None:
        json_path.write_text(json.dumps([r.to_dict() for r in results], indent=2))
        print_success(f"results written to {json_path}")
