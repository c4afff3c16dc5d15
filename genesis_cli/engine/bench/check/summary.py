"""The GPU check's conclusions and its one Markdown table.

The summary reads the measured rows and states what the issues ask about: our training and
sampling against the original configuration, best against best (the original's sampling has two
guidance passes per step, so it is set against our guided sampling where that was measured), the
best MFU against both the datasheet peak and the measured matmul ceiling, and the largest batch
that fit in GPU memory.
"""

from __future__ import annotations

from collections.abc import Iterable

from genesis_cli.engine.bench.check.plan import CheckRow, quantity

SUMMARY = "summary"


def summary_rows(rows: list[CheckRow]) -> list[CheckRow]:
    """Speed-ups over the original, best MFU per preset and workload, and the batch limits."""
    out: list[CheckRow] = []
    ceiling = next((row.value for row in rows if row.what == "ceiling" and row.value), None)
    original = {what: _best(r for r in rows if r.stage == "baseline" and r.what == what)
                for what in ("train", "sample")}
    original_preset = next((r.preset for r in rows if r.stage == "baseline" and r.preset), None)
    ours = {
        "train": _best(r for r in rows if r.stage == "train" and r.preset == original_preset),
        "sample": _best([r for r in rows if r.stage == "sampling" and r.variant.startswith("guidance ")
                         and r.variant != "guidance 1"]
                        or [r for r in rows if r.stage == "sampling" and r.variant.startswith("guidance ")]),
    }
    for what, title in (("train", "training"), ("sample", "sampling")):
        mine, theirs = ours[what], original[what]
        if mine is not None and theirs is not None and mine.value and theirs.value:
            out.append(CheckRow(SUMMARY, f"{title} speed-up over the original ({original_preset})",
                                mine.value / theirs.value, "x", f"ours at best ({mine.item}): {_rate(mine.value)}; "
                                f"{theirs.item}: {_rate(theirs.value)}", what="speedup",
                                variant=what))
    guided = {r.numbers.get("batch"): r for r in rows if r.stage == "sampling" and r.value
              and r.variant.startswith("guidance ") and r.variant != "guidance 1"}
    for r in rows:  # a distilled student against the guided sampler it replaces, at the same batch
        teacher = guided.get(r.numbers.get("batch"))
        if r.stage == "sampling" and r.variant.startswith("student ") and r.value and teacher is not None:
            out.append(CheckRow(SUMMARY, f"student speed-up over guided sampling, {r.variant.split()[1]} steps, "
                                f"batch {int(r.numbers['batch']):,}", r.value / teacher.value, "x",
                                f"{r.item}: {_rate(r.value)}; {teacher.item}: {_rate(teacher.value)}",
                                what="speedup", variant="student"))
    for stage, what in (("train", "train"), ("sampling", "sample")):
        for preset in dict.fromkeys(r.preset for r in rows if r.stage == stage and r.preset):
            best = max((r for r in rows if r.stage == stage and r.preset == preset and "mfu" in r.numbers),
                       key=lambda r: r.numbers["mfu"], default=None)
            if best is None:
                continue
            of_ceiling = (f"; {100 * best.numbers['tflops'] / ceiling:.0f}% of the measured ceiling "
                          f"({ceiling:.0f} TFLOP/s)" if ceiling and "tflops" in best.numbers else "")
            out.append(CheckRow(SUMMARY, f"best {what} MFU, {preset}", 100 * best.numbers["mfu"], "%",
                                f"{best.item}: {best.numbers.get('tflops', float('nan')):.1f} TFLOP/s{of_ceiling}",
                                what="mfu", preset=preset, variant=what))
    for preset in dict.fromkeys(r.preset for r in rows if r.stage == "train" and r.variant == "eager"):
        sweep = [r for r in rows if r.stage == "train" and r.what == "train" and r.preset == preset
                 and r.variant == "eager"]
        fitted = [int(r.numbers["batch"]) for r in sweep if r.value is not None]
        failed = [int(r.numbers["batch"]) for r in sweep if r.value is None and "batch" in r.numbers]
        if fitted:
            limit = f"out of GPU memory at batch {failed[0]}" if failed else "no OOM reached"
            out.append(CheckRow(SUMMARY, f"largest training batch that fit, {preset}", max(fitted), "events",
                                limit, what="batch", preset=preset))
    return out


def markdown_table(rows: list[CheckRow], *, date: str, commit: str, mode: str, seconds: float,
                   device: str = "unknown device") -> str:
    """One Markdown section: a heading with date, device and commit, and one row per measurement. The
    device is the environment stage's (``device`` when that stage did not run)."""
    device = next((row.variant for row in rows if row.what == "device"), device)
    lines = [f"#### {date} · {device} · commit {commit} · {mode} · {seconds / 60:.1f} min", "",
             "| stage | measurement | result | detail |", "|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row.stage} | {_cell(row.item)} | {row.result()} | {_cell(row.detail)} |")
    return "\n".join(lines) + "\n"


def _best(rows: Iterable[CheckRow]) -> CheckRow | None:
    return max((r for r in rows if r.value), key=lambda r: r.value or 0.0, default=None)


def _rate(value: float) -> str:
    return quantity(value, "events/s")


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")
