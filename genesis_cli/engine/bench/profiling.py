"""Where the time of a workload goes: torch.profiler's operator table and a coarse breakdown.

A workload far from the device's peak is bound by something other than matrix multiplication:
elementwise kernels and normalisations (memory-bound), launch overhead (many small kernels: the CPU
side outruns the device), or host work. The breakdown sums self time by kind of operation so a
report can say which; the full table (sorted by self time) names the operators.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch.autograd import DeviceType

from genesis_cli.engine.bench.measure import WARMUP, Workload, synchronize

#: Operation kinds by name: aten operators on the CPU, kernel names on CUDA. First match wins.
KINDS = (
    ("attention", re.compile(r"scaled_dot_product|flash|fmha|efficient_attention|attention", re.I)),
    ("convolution", re.compile(r"conv|cudnn", re.I)),
    ("matmul", re.compile(r"\b(aten::)?(mm|addmm|bmm|baddbmm|matmul|linear)\b|gemm|xmma|cutlass|wgmma", re.I)),
    ("optimizer, EMA, clipping", re.compile(r"adam|foreach|_fused|lerp", re.I)),
    ("normalisation", re.compile(r"norm", re.I)),
)
OTHER = "elementwise, copies, other"
TABLE_ROWS = 25


@dataclass(frozen=True)
class Profile:
    what: str
    variant: str
    device: str
    breakdown: dict[str, float]  # kind -> share of self time (sums to 1)
    table: str  # torch.profiler's operator table, sorted by self time

    def text(self) -> str:
        shares = "\n".join(f"  {kind:<28s} {100 * share:5.1f}%" for kind, share in self.breakdown.items())
        return (f"== {self.what} ({self.variant}) on {self.device}\nshare of self time by kind:\n{shares}\n\n"
                f"{self.table}\n")


def kind_of(name: str) -> str:
    for kind, pattern in KINDS:
        if pattern.search(name):
            return kind
    return OTHER


def breakdown(events: Any, on_cuda: bool) -> dict[str, float]:
    """Self time per kind (shares, largest first): CUDA kernels on a GPU, leaf CPU operators on a CPU."""
    totals: dict[str, float] = {}
    for event in events:
        if on_cuda:
            if event.device_type != DeviceType.CUDA:
                continue
            seconds = event.self_device_time_total
        else:
            seconds = event.self_cpu_time_total
        if seconds > 0:
            kind = kind_of(event.key)
            totals[kind] = totals.get(kind, 0.0) + seconds
    whole = sum(totals.values()) or 1.0
    return dict(sorted(((kind, value / whole) for kind, value in totals.items()), key=lambda item: -item[1]))


def profile_workload(workload: Workload, repeats: int) -> Profile:
    """Profile ``repeats`` runs of ``workload`` (after warm-up) on its device."""
    on_cuda = workload.device.type == "cuda"
    activities = [torch.profiler.ProfilerActivity.CPU]
    if on_cuda:
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    for _ in range(WARMUP):
        workload.run()
    synchronize(workload.device)
    prof = torch.profiler.profile(activities=activities)
    with _native_stderr_silenced():  # kineto logs "profiler_start" lines straight to file descriptor 2
        prof.start()
    try:
        for _ in range(repeats):
            workload.run()
        synchronize(workload.device)
    finally:
        with _native_stderr_silenced():
            prof.stop()
    averages = prof.key_averages()
    sort_by = "self_device_time_total" if on_cuda else "self_cpu_time_total"
    table = averages.table(sort_by=sort_by, row_limit=TABLE_ROWS)
    return Profile(workload.what, workload.variant, str(workload.device), breakdown(averages, on_cuda), table)


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the duration (Python exceptions still propagate)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w", encoding="ascii") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
