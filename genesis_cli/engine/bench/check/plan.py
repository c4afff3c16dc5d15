"""What the GPU check measures and for how long: the plan, its stages and time caps, and a result row.

Device time is lent in 15-minute leases, start-up included, so the check is one prepared run of
about nine minutes whose stages each have their own cap: a slow compile or a hung loader costs its
own stage, never the rest. ``CheckPlan.full()`` is the run on a lent GPU; ``CheckPlan.tiny()`` runs
every stage on the CPU with the debug preset in well under two minutes, so the script cannot rot
between lent devices (tests/test_gpu_check.py runs it).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

#: Stages in running order. ``prepare`` simulates the event files in the background while the GPU
#: stages run; ``data`` and ``fidelity`` wait for it. ``cli`` runs the commands users run.
STAGES = ("environment", "train", "baseline", "sampling", "data", "loop", "cli", "fidelity")
BACKGROUND_STAGE = "prepare"


def quantity(value: float, unit: str) -> str:
    """'1,234 events/s', '0.0043 events/s', '95.3x', '31.2%'."""
    if unit == "x":
        return f"{value:,.1f}x"
    if unit == "%":
        return f"{value:.1f}%"
    number = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{number} {unit}".strip()


@dataclass(frozen=True)
class CheckRow:
    """One measured line of the check's table: ``value`` in ``unit`` (None: a text-only result)."""

    stage: str
    item: str
    value: float | None
    unit: str
    detail: str = ""
    what: str = ""  # train | sample | data | ceiling | device | note | ...: what the summary reads
    preset: str = ""
    variant: str = ""  # eager | compiled | original | guidance 2 | memory | stream | ...
    numbers: dict[str, float] = field(default_factory=dict)  # machine-readable extras: mfu, tflops, peak_gib, ...

    def result(self) -> str:
        """The value with its unit as the table shows it (see :func:`quantity`); empty without a value."""
        return "" if self.value is None else quantity(self.value, self.unit)

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=float)

    @classmethod
    def from_json(cls, line: str) -> CheckRow:
        return cls(**json.loads(line))


@dataclass(frozen=True)
class CheckPlan:
    """Every knob of one check. Defaults are the real run on one large GPU."""

    device: str = "cuda"
    work_dir: Path = Path("gpu_check_work")  # event files, runs and samples (large: never under $OUT)
    #: Seconds each stage may take; the stage stops itself before, and is killed 15 s after.
    caps: dict[str, float] = field(default_factory=lambda: {
        "environment": 15, "train": 115, "baseline": 25, "sampling": 45, "data": 20, "loop": 30, "cli": 100,
        "fidelity": 220,
        BACKGROUND_STAGE: 150})
    # environment: the bf16 matmul ceiling (n x n x n, median of repeats)
    matmul_size: int = 8192
    matmul_dtype: str = "bfloat16"
    # train: presets swept eagerly by doubling the batch up to the first OOM, then compiled
    train_presets: tuple[str, ...] = ("default", "cnn")
    sweep_start: int = 64
    sweep_max: int = 65536
    repeats: int = 4  # timed repeats per measurement, after 3 warm-ups
    compile_backend: str = "inductor"
    compile_estimate_s: float = 40  # the sweep leaves this much of a preset's time for the first compiled run
    # baseline: the original configuration on the default preset
    baseline_preset: str = "default"
    baseline_batches: tuple[int, ...] = (8, 32)
    # sampling: the default sampler and steps; guidance off (the default) and on
    sample_preset: str = "default"
    sample_batches: tuple[int, ...] = (256, 2048)
    guidance_scales: tuple[float, ...] = (1.0, 2.0)
    # data and fidelity: simulated files, the loader in both modes, a budgeted train + sample + evaluate
    train_events: int = 50_000
    heldout_events: int = 2_000
    loader_events: int = 8_000  # the loader reads the training file's first events (memory mode loads them all)
    loader_batch: int = 1024
    loader_workers: int = 8
    # loop: `genesis train`'s loop beside the benchmark's step, the fidelity preset and batch, eager both
    loop_steps: int = 40
    # cli: the commands users run, as they run them (simulate, train, resume, sample, evaluate, demo)
    cli_preset: str = "cpu"
    cli_events: int = 2_000
    cli_steps: int = 30
    cli_sample_events: int = 500
    demo_events: int = 1_000
    demo_test_events: int = 100
    #: fidelity: AUC against training minutes, one run per budget while the stage's cap allows (a
    #: budget runs when it and ``fidelity_overhead_s`` of compiling, sampling and judging fit)
    fidelity_preset: str = "gpu"
    fidelity_budgets: tuple[str, ...] = ("2m", "4m", "8m")
    fidelity_batch: int = 1024
    fidelity_overhead_s: float = 75
    fidelity_spread: tuple[int, int] = (20, 100)  # labels x draws of the spread at fixed labels
    fidelity_sampling_steps: int | None = None  # None: the preset's
    #: torch (and OpenMP) threads of each stage, None: torch's choice. The CPU dry run uses 1: the event
    #: files are simulated beside the stages, and two OpenMP threads spinning against a busy core made a
    #: debug step 80x slower.
    cpu_threads: int | None = None
    seed: int = 1

    @classmethod
    def full(cls, work_dir: Path) -> CheckPlan:
        return cls(work_dir=work_dir)

    @classmethod
    def tiny(cls, work_dir: Path) -> CheckPlan:
        """Every stage on the CPU in well under two minutes: the debug preset, tiny batches and files."""
        return cls(device="cpu", work_dir=work_dir, caps={
            "environment": 20, "train": 40, "baseline": 45, "sampling": 20, "data": 15, "loop": 30, "cli": 90,
            "fidelity": 60,
            BACKGROUND_STAGE: 30}, matmul_size=512, matmul_dtype="float32", train_presets=("debug",),
            sweep_start=2, sweep_max=4, repeats=2, compile_backend="eager", compile_estimate_s=1,
            baseline_preset="debug", baseline_batches=(1,), sample_preset="debug", sample_batches=(2,),
            guidance_scales=(1.0, 2.0), train_events=300, heldout_events=120, loader_events=200, loader_batch=64,
            loader_workers=0, loop_steps=4, cli_preset="debug", cli_events=240, cli_steps=4, cli_sample_events=100,
            demo_events=120, demo_test_events=20, fidelity_preset="debug", fidelity_budgets=("10", "20"), fidelity_batch=16,
            fidelity_overhead_s=5, fidelity_spread=(3, 8), fidelity_sampling_steps=4,
            cpu_threads=1)

    def only(self, stages: tuple[str, ...]) -> CheckPlan:
        """The plan with every stage not in ``stages`` given no time (a rerun of a few stages)."""
        return replace(self, caps={name: (cap if name in stages or name == BACKGROUND_STAGE else 0)
                                   for name, cap in self.caps.items()})

    def cap(self, stage: str) -> float:
        return float(self.caps.get(stage, 0))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), default=str, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> CheckPlan:
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        raw["work_dir"] = Path(raw["work_dir"])
        for key in ("train_presets", "baseline_batches", "sample_batches", "guidance_scales", "fidelity_budgets",
                    "fidelity_spread"):
            raw[key] = tuple(raw[key])
        return cls(**raw)

    @property
    def train_file(self) -> Path:
        return self.work_dir / "fidelity" / "train.h5"
