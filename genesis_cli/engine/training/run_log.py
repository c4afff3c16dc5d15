"""A run's own records: train.log, metrics.jsonl, TensorBoard and (optionally) Weights & Biases.

Written by rank 0 only. TensorBoard goes to ``log_dir/experiment_name`` with the guide's tags
(train/loss, train/learning_rate, train/epoch, eval/loss) plus train/events_per_second,
train/grad_norm and the run's hyperparameters; a resumed run continues the same curves.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from genesis_cli.engine.training.reports import EpochReport, EvalReport, RunInfo, StepReport, TrainingObserver
from genesis_cli.errors import UsageError
from genesis_cli.settings import ExperimentConfig


class RunLog(TrainingObserver):
    def __init__(self, run_dir: Path, config: ExperimentConfig, start_step: int) -> None:
        self.run_dir = run_dir
        self.config = config
        self.text = open(run_dir / "train.log", "a", encoding="utf-8")  # noqa: SIM115 - closed in on_end
        self.metrics = open(run_dir / "metrics.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        from torch.utils.tensorboard import SummaryWriter

        self.tensorboard = SummaryWriter(str(Path(config.log_dir) / config.experiment_name), purge_step=start_step or None)
        self.wandb = _start_wandb(config, run_dir) if config.use_wandb else None
        self.last_val: float | None = None

    def _line(self, text: str) -> None:
        self.text.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}\n")
        self.text.flush()

    def _record(self, kind: str, data: dict[str, Any]) -> None:
        self.metrics.write(json.dumps({"kind": kind, **data}) + "\n")
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
                            "train/events_per_second": r.events_per_second}, step=r.step)

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


def _start_wandb(config: ExperimentConfig, run_dir: Path) -> Any:
    try:
        import wandb
    except ImportError as exc:
        raise UsageError("use_wandb is on but the wandb package is not installed",
                         hint="pip install 'genesis-icecube[wandb]', or set use_wandb: false") from exc
    os.environ.setdefault("WANDB_DIR", str(run_dir))
    return wandb.init(project=config.wandb_project, entity=config.wandb_entity, name=config.experiment_name,
                      config=config.to_dict(), resume="allow", id=f"genesis-{config.experiment_name}")


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

    def on_end(self, reason: str) -> None:
        for o in self.observers:
            o.on_end(reason)
