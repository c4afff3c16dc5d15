"""A run's own records: train.log, metrics.jsonl, TensorBoard and (optionally) Weights & Biases.

Written by rank 0 only. TensorBoard goes to ``log_dir/experiment_name`` with the guide's tags
(train/loss, train/learning_rate, train/epoch, eval/loss) plus train/events_per_second,
train/grad_norm and the run's hyperparameters.

One history per run, with no duplicates and no gaps: every checkpoint stores where the records
stood when it was written (``position()``: byte offsets of train.log and metrics.jsonl, and the
W&B run id). A resumed run cuts both files back to that point (the steps after the checkpoint are
trained again and logged again), TensorBoard purges the events after the checkpoint's step, and the
same W&B run continues. A new run gets a fresh W&B run id.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genesis_cli.engine.atomic_files import write_text_atomic
from genesis_cli.engine.extras import require_extra
from genesis_cli.engine.runs.checkpoint import RunCheckpoint
from genesis_cli.engine.runs.reports import EpochReport, EvalReport, RunInfo, StepReport, TrainingObserver
from genesis_cli.settings import ExperimentConfig

if TYPE_CHECKING:
    from genesis_cli.engine.runtime.phases import PhaseAccount

TEXT_LOG, METRICS = "train.log", "metrics.jsonl"


class RunLog(TrainingObserver):
    def __init__(self, run_dir: Path, config: ExperimentConfig, start_step: int,
                 resumed: RunCheckpoint | None = None) -> None:
        """``resumed``: the checkpoint a resumed run continues (None for a new run)."""
        self.run_dir = run_dir
        self.config = config
        records = (resumed.records if resumed is not None else None) or {}
        if resumed is not None:
            _cut_back(run_dir, records, start_step)
        self.text = open(run_dir / TEXT_LOG, "ab")  # noqa: SIM115 - closed in on_end
        self.metrics = open(run_dir / METRICS, "ab")  # noqa: SIM115
        from torch.utils.tensorboard import SummaryWriter

        # purge_step: events at and after it are dropped; the checkpoint's own step was logged before it was saved
        self.tensorboard = SummaryWriter(str(Path(config.log_dir) / config.experiment_name),
                                         purge_step=start_step + 1 if resumed is not None else None)
        self.wandb_id = records.get("wandb_id") or f"{config.experiment_name}-{uuid.uuid4().hex[:8]}"
        self.wandb = _start_wandb(config, run_dir, self.wandb_id, resume=resumed is not None) if config.use_wandb else None
        self.last_val: float | None = None
        if resumed is not None:
            self._line(f"resumed at step {start_step}")

    def position(self) -> dict[str, Any]:
        """Where the records stand (stored in each checkpoint)."""
        return {TEXT_LOG: self.text.tell(), METRICS: self.metrics.tell(), "wandb_id": self.wandb_id}

    def _line(self, text: str) -> None:
        self.text.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}\n".encode())
        self.text.flush()

    def _record(self, kind: str, data: dict[str, Any]) -> None:
        self.metrics.write((json.dumps({"kind": kind, **data}) + "\n").encode())
        self.metrics.flush()

    def on_start(self, info: RunInfo) -> None:
        self._line(f"start {info.experiment}: {info.architecture} ({info.parameters:,} parameters) on {info.device}, "
                   f"{info.train_events} training events, {info.total_steps} steps, from step {info.start_step}")

    def on_step(self, r: StepReport) -> None:
        self._line(f"epoch {r.epoch} step {r.step}/{r.total_steps} loss {r.loss:.6f} smoothed {r.smoothed_loss:.6f} "
                   f"lr {r.learning_rate:.3e} grad_norm {r.grad_norm:.3f} {r.events_per_second:.1f} events/s")
        self._record("step", {"epoch": r.epoch, "step": r.step, "loss": r.loss, "lr": r.learning_rate,
                              "grad_norm": r.grad_norm, "events_per_second": r.events_per_second})
        for tag, value in (("train/loss", r.loss), ("train/learning_rate", r.learning_rate), ("train/epoch", r.epoch),
                           ("train/events_per_second", r.events_per_second), ("train/grad_norm", r.grad_norm)):
            self.tensorboard.add_scalar(tag, value, r.step)
        if self.wandb is not None:
            self.wandb.log({"train/loss": r.loss, "train/learning_rate": r.learning_rate, "train/epoch": r.epoch,
                            "train/events_per_second": r.events_per_second, "train/grad_norm": r.grad_norm}, step=r.step)

    def on_eval(self, r: EvalReport) -> None:
        self.last_val = r.val_loss
        self._line(f"epoch {r.epoch} step {r.step} val_loss {r.val_loss:.6f}")
        self._record("eval", {"epoch": r.epoch, "step": r.step, "val_loss": r.val_loss})
        self.tensorboard.add_scalar("eval/loss", r.val_loss, r.step)
        if self.wandb is not None:
            self.wandb.log({"eval/loss": r.val_loss}, step=r.step)

    def on_epoch(self, r: EpochReport) -> None:
        self._line(f"Epoch {r.epoch} completed: loss={r.monitored_loss:.4f} ({r.monitor}; train {r.train_loss:.6f})")
        self._record("epoch", {"epoch": r.epoch, "step": r.step, "train_loss": r.train_loss,
                               "monitored_loss": r.monitored_loss, "monitor": r.monitor})

    def on_message(self, text: str) -> None:
        self._line(text)

    def on_phases(self, account: PhaseAccount) -> None:
        self._line(account.summary())
        self._record("phases", account.record())

    def on_end(self, reason: str) -> None:
        self._line(f"end: {reason}")
        hparams = {"architecture": self.config.model.architecture, "hidden": self.config.model.hidden,
                   "depth": self.config.model.depth, "learning_rate": self.config.training.learning_rate,
                   "batch_size": self.config.training.batch_size, "scheduler": self.config.training.scheduler}
        if self.last_val is not None:
            self.tensorboard.add_hparams(hparams, {"hparam/val_loss": self.last_val}, run_name=".")
        self.tensorboard.close()
        if self.wandb is not None:
            self.wandb.finish()
        self.text.close()
        self.metrics.close()


def require_wandb() -> Any:
    """The wandb module; a one-line error naming the extra when it is missing (checked before any work)."""
    return require_extra("wandb", "use_wandb is on but the wandb package is not installed",
                         hint="pip install 'genesis-icecube[wandb]', or set use_wandb: false")


def _start_wandb(config: ExperimentConfig, run_dir: Path, run_id: str, *, resume: bool) -> Any:
    """A W&B run with this run's own id; only ``genesis resume`` continues one."""
    wandb = require_wandb()
    os.environ.setdefault("WANDB_DIR", str(run_dir))
    return wandb.init(project=config.wandb_project, entity=config.wandb_entity, name=config.experiment_name,
                      config=config.to_dict(), id=run_id, resume="allow" if resume else None)


def _cut_back(run_dir: Path, records: dict[str, Any], step: int) -> None:
    """Cut train.log and metrics.jsonl back to where they stood at the resumed checkpoint. A checkpoint
    from before positions were stored: drop metrics records after its step (train.log is kept)."""
    for name in (TEXT_LOG, METRICS):
        path = run_dir / name
        offset = records.get(name)
        if isinstance(offset, int) and path.exists() and path.stat().st_size > offset:
            os.truncate(path, offset)
    metrics = run_dir / METRICS
    if not records and metrics.exists():
        kept = [line for line in metrics.read_text(encoding="utf-8").splitlines(keepends=True)
                if _step_of(line) is None or _step_of(line) <= step]
        write_text_atomic(metrics, "".join(kept))


def _step_of(line: str) -> int | None:
    try:
        step = json.loads(line).get("step")
    except (json.JSONDecodeError, AttributeError):
        return None
    return step if isinstance(step, int) else None


class Observers(TrainingObserver):
    """Fans every report out to several observers."""

    def __init__(self, *observers: TrainingObserver) -> None:
        self.observers = [o for o in observers if o is not None]

    def on_start(self, info: RunInfo) -> None:
        for o in self.observers:
            o.on_start(info)

    def on_step(self, report: StepReport) -> None:
        for o in self.observers:
            o.on_step(report)

    def on_eval(self, report: EvalReport) -> None:
        for o in self.observers:
            o.on_eval(report)

    def on_epoch(self, report: EpochReport) -> None:
        for o in self.observers:
            o.on_epoch(report)

    def on_message(self, text: str) -> None:
        for o in self.observers:
            o.on_message(text)

    def on_phases(self, account: PhaseAccount) -> None:
        for o in self.observers:
            o.on_phases(account)

    def on_end(self, reason: str) -> None:
        for o in self.observers:
            o.on_end(reason)
