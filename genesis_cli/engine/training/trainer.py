"""The training loop: optimise, evaluate, checkpoint, stop early, survive interruptions, resume exactly.

Exact resume rests on four things: the LR is a pure function of the step (lr_schedule.py); the
diffusion noise comes from a dedicated generator whose state is checkpointed; every other RNG state
is checkpointed too; and the loader restarts mid-epoch at the saved batch of the same seeded order.
Ctrl-C and SIGTERM are honoured between steps (interrupts.py): a checkpoint is written, best weights
restored when configured, and KeyboardInterrupt propagates (exit 130, or 143 for SIGTERM, in the CLI).

The loss is read on the host only at log, eval and save points; a non-finite loss is caught there,
named by the step where it first appeared, and no checkpoint is written after it; a checkpoint whose
weights are not finite is never written either (runs/store.py). Building a trainer reads and
validates everything and writes nothing; ``fit()`` opens the run's records.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from genesis_cli.engine.interrupts import InterruptFlag, deferred_interrupts
from genesis_cli.engine.memory import peak_memory_bytes
from genesis_cli.engine.runs.checkpoint import SCHEMA_VERSION, RunCheckpoint, fitting, load_checkpoint
from genesis_cli.engine.runs.records import Observers, RunLog
from genesis_cli.engine.runs.reports import EpochReport, EvalReport, RunInfo, StepReport, TrainingObserver
from genesis_cli.engine.runs.store import BEST, CheckpointStore
from genesis_cli.engine.runs.writer import CheckpointWriter
from genesis_cli.engine.runtime.device import training_device
from genesis_cli.engine.runtime.distributed import Distributed
from genesis_cli.engine.runtime.phases import PhaseClock
from genesis_cli.engine.runtime.precision import autocast, precision_name
from genesis_cli.engine.training.components import build_parts
from genesis_cli.engine.training.early_stopping import EarlyStopping
from genesis_cli.engine.training.lr_schedule import PlateauState, learning_rate
from genesis_cli.engine.training.rng import capture_rng_state, restore_rng_state, seed_everything, seeded_generator
from genesis_cli.engine.training.window import LossHistory, LossWindow
from genesis_cli.errors import GenesisError, UsageError
from genesis_cli.settings import ExperimentConfig
from genesis_cli.version import __version__

EVAL_SEED_OFFSET = 1_000_003  # validation noise is the same at every evaluation


class NonFiniteLoss(GenesisError):
    """The loss became NaN or infinite."""


def _improves(monitored: float, best: float | None) -> bool:
    """A finite loss below the best so far (a NaN or infinite loss is never the best)."""
    return math.isfinite(monitored) and (best is None or monitored < best)


class Trainer:
    def __init__(self, config: ExperimentConfig, run_dir: Path, *, observer: TrainingObserver | None = None,
                 resume: RunCheckpoint | None = None, resume_path: Path | None = None, debug: bool = False) -> None:
        """``resume``: the checkpoint to continue (``resume_path``: its file, for messages). Budgets
        (training.max_steps, training.time_budget) end training early, as completed. Builds and
        validates everything; writes nothing (``fit()`` opens the run's records)."""
        self.config, self.run_dir, self.debug = config, run_dir, debug
        self.dist = Distributed.from_environment()
        if self.dist.world > 1 and not torch.distributed.is_initialized():
            torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        self.device = training_device(config.device, self.dist)
        seed_everything(config.seed + self.dist.rank)
        resume_path = resume_path or Path("the checkpoint")
        parts = build_parts(config, self.dist, self.device, resume.normalization(resume_path) if resume else None,
                            resume.measured_noise() if resume else None)
        if resume is not None and (resume.split or {}).get("fingerprint") != parts.data.split.fingerprint():
            raise GenesisError(f"{config.data.h5_path}: the data split differs from the checkpoint's",
                               hint="resume with the same data file and seed")
        self.data, self.model, self.diffusion, self.step = parts.data, parts.model, parts.diffusion, parts.step
        self.optimizer, self.ema, self.geometry = parts.optimizer, parts.ema, parts.geometry
        self.loss_generator = seeded_generator(config.seed * 1000 + self.dist.rank, self.device)
        self.plateau = PlateauState()
        self.early = EarlyStopping.from_config(config.training) if config.training.early_stopping else None
        cap = config.training.max_steps_per_epoch
        self.steps_per_epoch = min(len(self.data.train), cap) if cap else len(self.data.train)
        self.total_steps = config.training.step_horizon(self.steps_per_epoch)
        self.store = CheckpointStore(run_dir, config.training.keep_checkpoints)
        self.writer = CheckpointWriter(self.store)
        self._start_position()
        self.resume = resume
        self.pending_messages: list[str] = []  # for the observers, once fit() has them
        if resume is not None:
            fitting(resume_path, lambda: self._restore(resume))
        self.user_observer = observer
        self.run_log: RunLog | None = None  # opened by fit(): building a trainer writes nothing
        self.observer = Observers(observer)

    def _start_position(self) -> None:
        """Step counters, losses and clocks of a new run (a resume overwrites them)."""
        self.epoch, self.batch_in_epoch, self.global_step = 0, 0, 0
        self.epoch_loss_sum, self.epoch_batches = 0.0, 0
        self.best_loss: float | None = None
        self.best_state: dict[str, Any] | None = None
        self.training_seconds, self.training_events = 0.0, 0  # this process's training time and events
        self.seconds_before = 0.0  # training time of the run before this process resumed it
        self.last_eval: tuple[int, float] = (-1, float("nan"))  # (step, validation loss) of the latest evaluation
        self.window = LossWindow.open(self.device)
        self.clock = PhaseClock(self.device, self.config.training.profile_phases)  # where this process's time goes
        self.step.clock = self.clock

    # -- state ------------------------------------------------------------------------------------
    def checkpoint(self) -> RunCheckpoint:
        """The run's state now, as a checkpoint (runs/checkpoint.py)."""
        return RunCheckpoint(
            epoch=self.epoch, global_step=self.global_step, model_state_dict=self.model.state_dict(),
            optimizer_state_dict=self.optimizer.state_dict(), config=self.config.to_dict(),
            schema_version=SCHEMA_VERSION, genesis_version=__version__, batch_in_epoch=self.batch_in_epoch,
            scheduler_state_dict={"name": self.config.training.scheduler, "plateau": self.plateau.state_dict(),
                                  "total_steps": self.total_steps, "steps_per_epoch": self.steps_per_epoch},
            best_loss=self.best_loss, ema_state_dict=self.ema.state_dict(),
            scaler_state_dict=self.step.scaler.state_dict(),
            early_stopping_state=self.early.state_dict() if self.early else None,
            rng_state=capture_rng_state(), loss_generator_state=self.loss_generator.get_state(),
            epoch_loss=[self.epoch_loss_sum, self.epoch_batches], training_seconds=self.elapsed_seconds,
            normalizer=self.data.normalizer.state_dict(), split=self.data.split.record(),
            dark_noise=self.data.dark_noise.state_dict() if self.data.dark_noise is not None else None,
            geometry=torch.from_numpy(self.data.file.geometry.positions),
            records=self.run_log.position() if self.run_log is not None else None)

    def _restore(self, saved: RunCheckpoint) -> None:
        """Continue from ``saved`` (checked by session.prepare_resume to hold every FOR_RESUMING part)."""
        self.model.load_state_dict(saved.model_state_dict)
        if saved.optimizer_state_dict is not None:
            self.optimizer.load_state_dict(saved.optimizer_state_dict)
        self.plateau.load_state_dict((saved.scheduler_state_dict or {})["plateau"])
        self.ema.load_state_dict(saved.ema_state_dict)
        self.step.scaler.load_state_dict(saved.scaler_state_dict)
        if self.early is not None and saved.early_stopping_state:
            self.early.load_state_dict(saved.early_stopping_state)
        restore_rng_state(saved.rng_state)
        assert saved.loss_generator_state is not None and saved.epoch_loss is not None
        self.loss_generator.set_state(saved.loss_generator_state.to(self.loss_generator.get_state().device))
        self.epoch, self.batch_in_epoch, self.global_step = saved.epoch, saved.batch_in_epoch or 0, saved.global_step
        self.epoch_loss_sum, self.epoch_batches = saved.epoch_loss
        self.best_loss = saved.best_loss
        self.seconds_before = float(saved.training_seconds)
        best_file = self.run_dir / BEST
        if best_file.exists():
            try:
                best = load_checkpoint(best_file)
            except UsageError as exc:  # the run goes on; its best weights so far are lost
                self.pending_messages.append(f"{exc.message}; the best weights so far cannot be restored")
            else:
                self.best_state = {"model": best.model_state_dict, "ema": best.ema_state_dict}

    def _snapshot_best(self) -> None:
        """Keep the weights now (and their EMA) in host memory as the run's best."""
        ema = self.ema.state_dict()
        self.best_state = {"model": {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()},
                           "ema": {**ema, "shadow": {k: v.to("cpu", copy=True) for k, v in ema["shadow"].items()}}}

    def restore_best_weights(self) -> bool:
        """Load the best weights (and their EMA) into the model; False when there are none."""
        if self.best_state is None:
            return False
        self.model.load_state_dict(self.best_state["model"])
        self.ema.load_state_dict(self.best_state["ema"])
        return True

    def _save(self, *kinds: str, best: bool = False) -> None:
        """Write checkpoints of ``kinds`` ('regular', 'best', 'final') of the run as it is now, all from
        one host snapshot, in the background (runs/writer.py); ``best``: also keep these weights as the
        run's best. Only rank 0 writes; every rank keeps its best weights."""
        with self.clock.phase("checkpoint"):
            if not self.dist.is_main:
                if best:
                    self._snapshot_best()
                return
            host = self.writer.snapshot(self.checkpoint())
            if best:
                self.best_state = {"model": host.model_state_dict, "ema": host.ema_state_dict}
            slim = host if self.config.training.save_optimizer_in_best else replace(host, optimizer_state_dict=None)
            epoch = self.epoch + (1 if self.batch_in_epoch else 0)
            self.writer.save([(kind, host if kind == "regular" else slim, epoch) for kind in kinds])

    # -- the loop ---------------------------------------------------------------------------------
    def fit(self) -> str:
        """Train to the end; returns 'completed', 'early_stopped' or 'budget' (KeyboardInterrupt propagates)."""
        t = self.config.training
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.run_log = RunLog(self.run_dir, self.config, self.global_step, resumed=self.resume)
        self.observer = Observers(self.user_observer, self.run_log)
        self.observer.on_start(RunInfo(
            self.config.experiment_name, str(self.run_dir), str(self.device), self.config.model.architecture,
            sum(p.numel() for p in self.model.parameters()), len(self.data.train.indices) * self.dist.world,
            len(self.data.split.val), self.steps_per_epoch, self.total_steps, t.num_epochs, self.global_step,
            t.early_stopping_patience if self.early else None, precision_name(self.step.amp), self.dist.world,
            self.config.distill.is_student))
        self.step.attach(self.observer.on_message)
        for message in self.pending_messages:
            self.observer.on_message(message)
        reason = "completed"
        try:
            with deferred_interrupts() as interrupt, torch.autograd.set_detect_anomaly(self.debug):
                self.clock.start()
                reason = self._epochs(interrupt)
        except KeyboardInterrupt:
            self._flush_window()
            self._save("regular")
            self._finish_writes()
            self.clock.stop()
            self.observer.on_message(f"Interrupted at step {self.global_step}; checkpoint saved.")
            self._maybe_restore_best()
            self.observer.on_phases(self.clock.account())
            self.observer.on_end("interrupted")
            raise
        except BaseException:
            self._finish_writes(raising=True)
            raise
        self._finish_writes()
        self.clock.stop()  # the account is the loop's: the final checkpoint comes after it
        self._maybe_restore_best()
        self._save("final")
        self.writer.wait()
        self.observer.on_phases(self.clock.account())
        self.observer.on_end(reason)
        return reason

    def _finish_writes(self, raising: bool = False) -> None:
        """Wait for the checkpoint in flight (its error is raised unless another one is on its way)."""
        with self.clock.phase("checkpoint"):
            try:
                self.writer.wait()
            except Exception:
                if not raising:
                    raise

    def _maybe_restore_best(self) -> None:
        if self.early is not None and self.early.restore_best and self.restore_best_weights():
            self.observer.on_message("✅ Restored best model weights")

    def _epochs(self, interrupt: Any) -> str:
        t = self.config.training
        bad_step = torch.full((), -1, dtype=torch.long, device=self.device)
        self.window = LossWindow.open(self.device)
        start_step, history, started = self.global_step, LossHistory(), time.perf_counter()
        if self._budget_spent():  # resumed at or past its budget
            return "budget"
        clock = self.clock
        while self.epoch < t.num_epochs:
            self.data.train.set_epoch(self.epoch, self.batch_in_epoch)
            self.model.train()
            batches = iter(self.data.train)
            while self.batch_in_epoch < self.steps_per_epoch:
                with clock.phase("data"):
                    batch = next(batches, None)
                    if batch is not None:
                        x_sig = batch[0].to(self.device, non_blocking=True)
                        label = batch[2].to(self.device, non_blocking=True)
                if batch is None:
                    break
                self._check_interrupt(interrupt)
                lr = learning_rate(self.global_step, self.total_steps, self.steps_per_epoch, t, self.plateau.scale,
                                   self._time_fraction())
                loss, grad_norm = self.step(x_sig, self.geometry, label, lr, self.loss_generator)
                finite = torch.isfinite(loss)
                bad_step = torch.where(finite | (bad_step >= 0), bad_step, torch.full_like(bad_step, self.global_step + 1))
                self.window.add(loss, grad_norm, x_sig.shape[0] * self.dist.world)
                clock.step_done()
                self.global_step += 1
                self.batch_in_epoch += 1
                at_log = self.global_step % t.log_interval == 0
                at_eval = self.global_step % t.eval_interval == 0
                at_save = self.global_step % t.save_interval == 0
                if at_log or at_eval or at_save or self.batch_in_epoch == self.steps_per_epoch:
                    with clock.phase("logging"):
                        self._check_finite(bad_step)
                        if at_log:
                            self._report_step(lr, history, started, start_step)
                        self._flush_window()
                if at_eval and self.data.val is not None and self.batch_in_epoch < self.steps_per_epoch:
                    self.last_eval = (self.global_step, self.validation_loss())
                    self.observer.on_eval(EvalReport(self.epoch + 1, self.global_step, self.last_eval[1]))
                if at_save:
                    self._save("regular")
                self.training_seconds = time.perf_counter() - started
                self.training_events += x_sig.shape[0] * self.dist.world
                if self._budget_spent():
                    self._finish_writes()
                    clock.stop()  # closing a budgeted run happens once, after the loop
                    self._close_at_budget()
                    return "budget"
            if self._end_epoch():
                return "early_stopped"
        return "completed"

    @property
    def elapsed_seconds(self) -> float:
        """Training time of the whole run, across resumes."""
        return self.seconds_before + self.training_seconds

    def _time_fraction(self) -> float:
        budget = self.config.training.time_budget
        return min(self.elapsed_seconds / budget, 1.0) if budget else 0.0

    def _budget_left(self) -> float | None:
        budget = self.config.training.time_budget
        return max(budget - self.elapsed_seconds, 0.0) if budget else None

    def _budget_spent(self) -> bool:
        t = self.config.training
        return bool((t.max_steps is not None and self.global_step >= t.max_steps) or
                    (t.time_budget is not None and self.elapsed_seconds >= t.time_budget))

    def _close_at_budget(self) -> None:
        """End a budgeted run mid-epoch: judge the weights reached (validation loss, or the training loss
        of the partial epoch) and keep them as the best when they are, so sampling the run's best
        checkpoint never uses weights older than the last epoch. The epoch stays open (resumable)."""
        self._flush_window()
        if self.epoch_batches == 0:
            return
        if self.data.val is not None and self.last_eval[0] == self.global_step:
            monitored = self.last_eval[1]  # evaluated at this very step already
        elif self.data.val is not None:
            monitored = self.validation_loss()
            self.observer.on_eval(EvalReport(self.epoch + 1, self.global_step, monitored))
        else:
            monitored = self.epoch_loss_sum / self.epoch_batches
        if _improves(monitored, self.best_loss):
            self.best_loss = monitored
            self._save("best", best=True)
        self.observer.on_message(f"Training budget reached at step {self.global_step:,} "
                                 f"({self.elapsed_seconds:,.0f} s of training).")

    def _flush_window(self) -> None:
        """Move the window's losses into the epoch's running mean (a host read) and reset it."""
        if self.window.count:
            self.epoch_loss_sum += float(self.window.loss)
            self.epoch_batches += self.window.count
        self.window = LossWindow.open(self.device)

    def _check_finite(self, bad_step: torch.Tensor) -> None:
        step = int(bad_step)
        if step >= 0:
            raise NonFiniteLoss(f"the loss became NaN or infinite at step {step}; training stopped",
                                hint="lower the learning rate, check the data with `genesis inspect-data`, or run "
                                     "with --debug for anomaly detection; " + self._kept())

    def _check_interrupt(self, interrupt: InterruptFlag) -> None:
        """Stop at a step boundary on Ctrl-C or SIGTERM. Under DDP the ranks agree first (every
        log_interval steps: one small all-reduce), so that all of them stop at the same step and none
        waits forever for a rank that has left; rank 0 then writes the checkpoint."""
        if self.dist.world > 1:
            if self.global_step % self.config.training.log_interval:
                return
            signal = torch.tensor([interrupt.signal or 0], device=self.device)
            torch.distributed.all_reduce(signal, op=torch.distributed.ReduceOp.MAX)
            interrupt.signal = int(signal) or None
        interrupt.check()

    def _kept(self) -> str:
        try:
            self.writer.wait()  # the newest checkpoint may still be on its way to the disk
        except Exception:  # noqa: BLE001 - a failed write is not the error being reported
            pass
        kept = self.store.newest()
        return f"the last good checkpoint is {kept}" if kept else "no checkpoint was written"

    def _report_step(self, lr: float, history: LossHistory, started: float, start_step: int) -> None:
        window = self.window
        mean = window.mean(self.dist.world)
        smooth = history.add(mean)
        self.observer.on_step(StepReport(
            self.epoch + 1, self.global_step, self.total_steps, mean, smooth, lr, float(window.grad),
            window.events_per_second(), time.perf_counter() - started, peak_memory_bytes(self.device),
            tuple(history.recent), self._budget_left(), start_step))

    def validation_loss(self) -> float:
        """Mean diffusion loss over the validation split, with the same noise at every evaluation."""
        with self.clock.phase("evaluation"):
            return self._validation_loss()

    @torch.no_grad()
    def _validation_loss(self) -> float:
        assert self.data.val is not None
        self.model.eval()
        generator = torch.Generator(self.device).manual_seed(self.config.seed + EVAL_SEED_OFFSET)
        total = torch.zeros((), device=self.device, dtype=torch.float64)
        count = torch.zeros((), device=self.device, dtype=torch.float64)
        self.data.val.set_epoch(0)
        for batch, (x_sig, _, label, _) in enumerate(self.data.val):
            if self.config.training.max_eval_batches and batch >= self.config.training.max_eval_batches:
                break
            x_sig, label = x_sig.to(self.device), label.to(self.device)
            with autocast(self.device, self.step.amp):
                loss = self.diffusion.loss(x_sig, self.geometry, label, generator=generator)
            total += loss.double() * x_sig.shape[0]
            count += x_sig.shape[0]
        if self.dist.world > 1:
            torch.distributed.all_reduce(total)
            torch.distributed.all_reduce(count)
        self.model.train()
        return float(total / count)

    def _end_epoch(self) -> bool:
        """Close the epoch: monitor, plateau, early stopping, best and epoch checkpoints. True = stop."""
        t = self.config.training
        train_loss = self.epoch_loss_sum / max(self.epoch_batches, 1)
        if self.data.val is not None:
            monitored, monitor = self.validation_loss(), "val_loss"
            self.observer.on_eval(EvalReport(self.epoch + 1, self.global_step, monitored))
        else:
            monitored, monitor = train_loss, "train_loss"
        self.epoch += 1
        self.batch_in_epoch, self.epoch_loss_sum, self.epoch_batches = 0, 0.0, 0
        if t.scheduler == "plateau" and self.plateau.update(monitored, t):
            self.observer.on_message(f"Plateau: learning rate reduced to {t.learning_rate * self.plateau.scale:.3e}")
        messages: list[str] = []
        if self.early is not None:
            improved, messages = self.early.step(monitored, self.epoch)
        else:
            improved = _improves(monitored, self.best_loss)
        if improved:
            self.best_loss = monitored
        with self.clock.phase("logging"):
            self._report_epoch(train_loss, monitored, monitor, improved, messages)
        self._save(*(("best", "regular") if improved else ("regular",)), best=improved)  # one snapshot for both
        return bool(self.early is not None and self.early.should_stop)

    def _report_epoch(self, train_loss: float, monitored: float, monitor: str, improved: bool,
                      messages: list[str]) -> None:
        self.observer.on_epoch(EpochReport(
            self.epoch, self.global_step, train_loss, monitored, monitor, improved,
            self.early.best if self.early else self.best_loss, self.early.best_epoch if self.early else None,
            self.early.wait if self.early else 0, self.early.patience if self.early else None))
        for message in messages:
            self.observer.on_message(message)
