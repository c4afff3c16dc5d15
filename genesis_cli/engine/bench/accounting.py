"""`genesis bench --what loop`: the real training loop beside the benchmark's step, phase by phase.

`genesis bench --what train` times :class:`~genesis_cli.engine.training.step.TrainStep` alone on a
synthetic batch; `genesis train` runs that same step inside a loop that also loads batches, logs,
evaluates and writes checkpoints. This runs the loop itself (the :class:`Trainer` of `genesis train`,
on the event file, with the config's intervals, in a throwaway run directory) and the benchmark's
step at the same preset, batch and compile setting, both timed by a
:class:`~genesis_cli.engine.runtime.phases.PhaseClock` after the same warm-up, so the gap between
them is shown where it arises (issue 22: the loop trained at 38-52% of the benchmark's speed).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from genesis_cli.engine.bench.measure import WARMUP
from genesis_cli.engine.bench.workloads import train_workload
from genesis_cli.engine.runtime.phases import PHASES, PhaseAccount, PhaseClock
from genesis_cli.settings import ExperimentConfig, derive_config


@dataclass(frozen=True)
class LoopComparison:
    """The loop's and the benchmark's time per step at one batch size, split into phases."""

    batch_size: int
    loop: PhaseAccount
    bench: PhaseAccount

    def events_per_second(self, account: PhaseAccount) -> float:
        return self.batch_size * account.steps / account.wall if account.wall > 0 else 0.0

    @property
    def ratio(self) -> float:
        """The loop's events/s as a fraction of the benchmark's."""
        bench = self.events_per_second(self.bench)
        return self.events_per_second(self.loop) / bench if bench > 0 else 0.0

    def rows(self) -> list[tuple[str, float, float]]:
        """(phase, loop ms/step, bench ms/step) for each phase either spends time in, then the total."""
        rows = [(name, self.loop.per_step_ms(name), self.bench.per_step_ms(name)) for name in (*PHASES, "other")]
        shown = [row for row in rows if max(row[1], row[2]) >= 0.05]
        total = ("total", 1000 * self.loop.wall / max(self.loop.steps, 1), 1000 * self.bench.wall / max(self.bench.steps, 1))
        return [*shown, total]

    def to_dict(self) -> dict[str, Any]:
        return {"batch_size": self.batch_size, "loop": self.loop.record(), "bench": self.bench.record(),
                "loop_events_per_second": self.events_per_second(self.loop),
                "bench_events_per_second": self.events_per_second(self.bench), "ratio": self.ratio}


def compare_loop(config: ExperimentConfig, data_path: Path, batch_size: int, steps: int, device: torch.device,
                 on_message: Callable[[str], None]) -> LoopComparison:
    """Time ``steps`` steps of the loop and of the benchmark's step after WARMUP steps each."""
    return LoopComparison(batch_size, loop_account(config, data_path, batch_size, steps, device),
                          bench_account(config, batch_size, steps, device, on_message))


def bench_account(config: ExperimentConfig, batch_size: int, steps: int, device: torch.device,
                  on_message: Callable[[str], None]) -> PhaseAccount:
    """The benchmark's training step, ``steps`` times after WARMUP, under a phase clock."""
    clock = PhaseClock(device, config.training.profile_phases, warmup=WARMUP)
    workload = train_workload(config, batch_size, device, on_message=on_message, clock=clock)
    clock.start()
    for _ in range(WARMUP + steps):
        workload.run()
        clock.step_done()
    clock.stop()
    return clock.account()


def loop_account(config: ExperimentConfig, data_path: Path, batch_size: int, steps: int,
                 device: torch.device) -> PhaseAccount:
    """`genesis train`'s loop on ``data_path`` for WARMUP + ``steps`` steps, in a throwaway run directory."""
    from genesis_cli.engine.training.trainer import Trainer

    with tempfile.TemporaryDirectory(prefix="genesis-loop-") as folder:
        run = derive_config(config, {
            "data.h5_path": str(data_path), "training.batch_size": batch_size, "training.max_steps": WARMUP + steps,
            "device": str(device), "checkpoint_dir": str(Path(folder) / "checkpoints"),
            "log_dir": str(Path(folder) / "logs"), "use_wandb": False}, "genesis bench --what loop")
        trainer = Trainer(run, Path(run.checkpoint_dir) / run.experiment_name)
        trainer.clock = trainer.step.clock = PhaseClock(trainer.device, run.training.profile_phases, warmup=WARMUP)
        trainer.fit()
        return trainer.clock.account()
