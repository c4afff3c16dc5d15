"""``genesis inspect-data``: what is in an event file, and is it ready for training?"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table

from genesis_cli.cli.options import overwrite_option
from genesis_cli.cli.output import console, print_success
from genesis_cli.cli.prompts import confirm_replacing
from genesis_cli.engine.outputs import Output, check_outputs
from genesis_cli.errors import EXIT_USAGE

EXAMPLES = (
    "[bold]Examples[/bold]\n\n"
    "  genesis inspect-data data.h5\n\n"
    "  genesis inspect-data data.h5 --plot data.png\n\n"
    "  genesis inspect-data data.h5 --json > data.json"
)


ATTRIBUTE_WIDTH = 100  # characters of an attribute shown (--json prints them whole)


def inspect_data_command(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="HDF5 event file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")] = False,
    plot: Annotated[Optional[Path], typer.Option(
        "--plot", metavar="FILE.png", help="Also draw histograms and a detector top view (.png, .pdf, .svg).")] = None,
    overwrite: Annotated[bool, overwrite_option("the --plot file if it exists")] = False,
) -> None:
    """Report what an event file holds and whether it is ready for training.

    Datasets, detector, hits, charges, times and labels, every problem found, and a verdict:
    "ready for training" (exit 0) or the reasons it is not (exit 2).
    """
    from genesis_cli.engine.data.inspection import inspect_file
    from genesis_cli.engine.data.plots import plot_inspection

    if plot is not None:
        check_outputs([Output(plot, "--plot", figure=True)], {"FILE": path}, overwrite=overwrite)
        confirm_replacing([plot], overwrite)
    report = inspect_file(path)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, default=_json_default))
    else:
        console().print(_render({**report.to_dict(), "dark_noise_text": report.noise.describe() if report.noise else None}))
    if plot is not None:
        plot_inspection(report, plot)
        if not as_json:
            print_success(f"figure written to {plot}")
    if not report.ready:
        raise typer.Exit(EXIT_USAGE)


def _json_default(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else str(value)


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 1e4 or float(value).is_integer() else f"{value:.{digits}g}"


def _quantile_row(name: str, q: dict[str, float]) -> list[str]:
    return [name, *(_fmt(q.get(k)) for k in ("q00", "q05", "q50", "q95", "q100"))]


def _render(d: dict[str, Any]) -> Group:
    size = d["file_size_bytes"] / 1e6
    head = (f"[bold]{d['path']}[/]  {size:,.1f} MB · {d['n_events']:,} events · {d['n_doms']:,} DOMs")
    datasets = Table("dataset", "shape", "dtype", "chunks", "compression", box=box.SIMPLE_HEAD,
                     title="Datasets", title_justify="left")
    for ds in d["datasets"]:
        datasets.add_row(ds["name"], str(tuple(ds["shape"])), ds["dtype"], str(ds["chunks"] or "-"),
                         ds["compression"] or "-")

    det = d["detector"]
    detector = Table(box=box.SIMPLE_HEAD, show_header=False, title="Detector", title_justify="left")
    strings = (f"{det['n_strings']} strings, {det['doms_per_string'][0]}-{det['doms_per_string'][1]} DOMs each, "
               f"median spacing {det['string_spacing_m']:.1f} m") if det["n_strings"] else \
        "no string structure found (file order kept)"
    detector.add_row("strings", strings)
    for axis, (lo, hi) in det["extent_m"].items():
        detector.add_row(f"{axis} extent", f"{lo:,.1f} .. {hi:,.1f} m")
    for name, key, unit in (("rde", "rde_range", ""), ("PMT area", "pmt_area_range_m2", " m^2")):
        if det.get(key):
            lo, hi = det[key]
            detector.add_row(name, f"{_fmt(lo)}{unit}" if _fmt(lo) == _fmt(hi) else f"{_fmt(lo)} .. {_fmt(hi)}{unit}")
    ids = d.get("event_ids")
    if ids:
        span = ids["event_no_range"]
        detector.add_row("event ids", f"{', '.join(ids['columns'])}" +
                         (f"; event_no {span[0]:,} .. {span[1]:,}" if span else ""))

    signals = Table("", "min", "5%", "median", "95%", "max", box=box.SIMPLE_HEAD, title="Signals",
                    title_justify="left")
    signals.add_row(*_quantile_row("hit DOMs per event", d["hits_per_event"]))
    signals.add_row(*_quantile_row("npe of hit DOMs", d["npe_of_hits"]))
    time_range = d["hit_time_range_ns"]
    extra = Table(box=None, show_header=False)
    extra.add_column(no_wrap=True)
    extra.add_column(overflow="fold")
    extra.add_row("hit-time range", f"{time_range[0]:,.1f} .. {time_range[1]:,.1f} ns" if time_range else "-")
    extra.add_row("non-finite times", f"{100 * d['nonfinite_time_share']:.2f}% of DOM entries (no-hit DOMs)")
    extra.add_row("dark noise", d["dark_noise_text"] or "not measurable (no event has a hit of >= 2.5 PE)")

    labels = Table("label", "unit", "min", "median", "max", box=box.SIMPLE_HEAD, title="Labels",
                   title_justify="left")
    for row in d["labels"]:
        labels.add_row(row["name"], row["unit"], _fmt(row["min"]), _fmt(row["median"]), _fmt(row["max"]))

    provenance = Table(box=box.SIMPLE_HEAD, title="Provenance (file attributes)", title_justify="left")
    provenance.add_column("attribute", no_wrap=True)
    provenance.add_column("value", overflow="fold")
    for key, value in sorted(d["attributes"].items()):
        text = str(value)
        provenance.add_row(key, text if len(text) <= ATTRIBUTE_WIDTH else text[:ATTRIBUTE_WIDTH - 1] + "…")
    lines = [f"[red]✗[/] {p}" for p in d["problems"]] + [f"[yellow]![/] {w}" for w in d["warnings"]]
    verdict = ("[bold green]✓ ready for training[/]" if d["ready_for_training"] else
               f"[bold red]✗ not ready for training: {len(d['problems'])} problem(s)[/]")
    return Group(Panel(head, expand=False), datasets, detector, signals, extra, labels,
                 *([provenance] if d["attributes"] else []),
                 *(lines or ["no problems found"]), verdict)
