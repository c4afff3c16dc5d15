"""Nothing lost (issue 12): safe --overwrite, finite checkpoints, one process per run, clean failed
starts, SIGTERM, one history per run, W&B ids, output paths on resume, unreadable checkpoints."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from genesis_cli.engine.runs.checkpoint import load_checkpoint
from genesis_cli.engine.runs.directory import RunClaim
from genesis_cli.engine.runs.reports import StepReport, TrainingObserver
from genesis_cli.engine.runs.store import BEST, FINAL, newest_checkpoint
from genesis_cli.engine.training import session
from tests.conftest import CliResult, write_event_file
from tests.test_training import config_for

Cli = Callable[..., CliResult]
FAST = ["--batch-size", "8", "--set", "training.log_interval=5", "--set", "training.eval_interval=1000"]


def _train(cli: Cli, data: Path, name: str, *extra: str) -> CliResult:
    return cli("train", "--config", "debug", "--data-path", str(data), "--epochs", "1", "--experiment-name", name,
               *FAST, *extra)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _finite(path: Path) -> bool:
    payload = torch.load(path, weights_only=True)
    tensors = [*payload["model_state_dict"].values(), *payload["ema_state_dict"]["shadow"].values()]
    finite = all(bool(torch.isfinite(t).all()) for t in tensors if t.is_floating_point())
    return finite and (payload["best_loss"] is None or np.isfinite(payload["best_loss"]))


# -- 1. --overwrite validates every input before anything is touched ---------------------------------
@pytest.mark.parametrize("bad_input", ["missing", "nan_label"])
def test_overwrite_with_bad_input_keeps_the_old_run(cli: Cli, toy_file: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch, bad_input: str) -> None:
    monkeypatch.chdir(tmp_path)
    assert _train(cli, toy_file, "r").exit_code == 0
    before = _snapshot(tmp_path / "checkpoints") | {f"logs/{k}": v for k, v in _snapshot(tmp_path / "logs").items()}
    if bad_input == "missing":
        data = tmp_path / "typo.h5"
    else:
        labels = np.column_stack([np.full(40, 1e4), np.full(40, 1.0), np.zeros(40), np.zeros((40, 3))])
        labels[5, 1] = np.nan
        data = write_event_file(tmp_path / "nan.h5", n=40, label=labels)
    result = _train(cli, data, "r", "--overwrite")
    assert result.exit_code == 2, result.output
    after = _snapshot(tmp_path / "checkpoints") | {f"logs/{k}": v for k, v in _snapshot(tmp_path / "logs").items()}
    assert after == before


def test_overwrite_replaces_the_run_and_its_tensorboard_history(cli: Cli, toy_file: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert _train(cli, toy_file, "r").exit_code == 0
    old_events = set((tmp_path / "logs" / "r").glob("events.out.tfevents.*"))
    result = _train(cli, toy_file, "r", "--overwrite", "--seed", "5")
    assert result.exit_code == 0, result.output
    assert "replacing the run in checkpoints/r" in result.stderr
    assert not old_events & set((tmp_path / "logs" / "r").glob("events.out.tfevents.*"))
    assert not list(tmp_path.rglob(".replaced"))
    assert torch.load(tmp_path / "checkpoints/r/model_final.pt", weights_only=True)["config"]["seed"] == 5
    assert sum('"kind": "step"' in line for line in (tmp_path / "checkpoints/r/metrics.jsonl").read_text().splitlines()) == 8


def test_a_new_run_failing_before_its_first_checkpoint_restores_the_old_one(toy_file: Path, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    config = config_for(toy_file, tmp_path, "o", "training.num_epochs=1")
    session.run(session.prepare_new_run(config))
    run_dir = tmp_path / "checkpoints" / "o"
    before = _snapshot(run_dir)
    monkeypatch.setattr("genesis_cli.engine.training.trainer.Trainer._epochs",
                        lambda self, interrupt: (_ for _ in ()).throw(RuntimeError("crash at step 1")))
    with pytest.raises(RuntimeError):
        session.run(session.prepare_new_run(config, overwrite=True))
    assert _snapshot(run_dir) == before
    assert not (run_dir / ".replaced").exists()


# -- 2. no checkpoint with non-finite weights or metric ----------------------------------------------
def test_divergence_never_writes_a_non_finite_checkpoint(cli: Cli, toy_file: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = _train(cli, toy_file, "d", "--lr", "1e3", "--set", "training.save_interval=1",
                    "--set", "training.log_interval=1", "--set", "training.grad_clip_norm=0")
    assert result.exit_code == 1, result.output
    assert "NaN or infinite" in result.stderr and "training stopped" in result.stderr
    written = list((tmp_path / "checkpoints" / "d").glob("*.pt"))
    assert all(_finite(p) for p in written)
    if written:  # the error names the checkpoint that is kept
        assert "the last good checkpoint is checkpoints/d/model_epoch_1.pt" in result.stderr


def test_nan_validation_loss_never_becomes_best(toy_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from genesis_cli.engine.training.trainer import Trainer

    monkeypatch.setattr(Trainer, "validation_loss", lambda self: float("nan"))
    config = config_for(toy_file, tmp_path, "v", "training.num_epochs=1")
    session.run(session.prepare_new_run(config))
    run_dir = tmp_path / "checkpoints" / "v"
    assert not (run_dir / BEST).exists()
    assert torch.load(run_dir / FINAL, weights_only=True)["best_loss"] is None


def test_a_checkpoint_with_nan_weights_is_refused(toy_file: Path, tmp_path: Path) -> None:
    config = config_for(toy_file, tmp_path, "w", "training.num_epochs=1")
    session.run(session.prepare_new_run(config))
    path = tmp_path / "checkpoints" / "w" / FINAL
    payload = torch.load(path, weights_only=True)
    name = next(iter(payload["model_state_dict"]))
    payload["model_state_dict"][name] = torch.full_like(payload["model_state_dict"][name], float("nan"))
    torch.save(payload, path)
    with pytest.raises(Exception, match=f"model_state_dict.{name} holds NaN or infinite weights"):
        load_checkpoint(path)


@pytest.mark.parametrize("flag", [("--lr", "inf"), ("--lr", "nan")])
def test_non_finite_learning_rate_is_a_config_error(cli: Cli, toy_file: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch, flag: tuple[str, str]) -> None:
    monkeypatch.chdir(tmp_path)
    result = _train(cli, toy_file, "l", *flag)
    assert result.exit_code == 2
    assert "training.learning_rate: input should be a finite number" in result.stderr
    assert not (tmp_path / "checkpoints").exists()


# -- 4. one process per run directory ----------------------------------------------------------------
def test_a_second_training_of_the_same_run_is_refused_naming_the_holder(cli: Cli, toy_file: Path, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with RunClaim(tmp_path / "checkpoints" / "busy", command="genesis train"):
        result = _train(cli, toy_file, "busy", "--overwrite")
        assert result.exit_code == 2
        assert f"checkpoints/busy: in use by another training process (pid {os.getpid()} on" in result.stderr
        assert "(genesis train)" in result.stderr
    assert _train(cli, toy_file, "busy").exit_code == 0  # the lock went with its holder


def test_the_lock_is_held_while_training_and_released_after(toy_file: Path, tmp_path: Path) -> None:
    from genesis_cli.engine.runs.directory import lock_holder

    seen: list[str | None] = []

    class Probe(TrainingObserver):
        def on_step(self, report: StepReport) -> None:
            seen.append(lock_holder(tmp_path / "checkpoints" / "held"))

    config = config_for(toy_file, tmp_path, "held", "training.num_epochs=1")
    session.run(session.prepare_new_run(config), Probe())
    assert seen and all(holder is not None and f"pid {os.getpid()}" in holder for holder in seen)
    assert lock_holder(tmp_path / "checkpoints" / "held") is None


# -- 5. a run directory appears only once training can start ---------------------------------------
def test_a_failed_start_leaves_no_directory_and_does_not_block_a_retry(cli: Cli, toy_file: Path, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert _train(cli, tmp_path / "missing.h5", "f").exit_code == 2
    assert not (tmp_path / "checkpoints" / "f").exists()
    assert _train(cli, toy_file, "f").exit_code == 0


def test_a_run_killed_before_its_first_checkpoint_does_not_block_a_retry(cli: Cli, toy_file: Path, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "checkpoints" / "k"
    run_dir.mkdir(parents=True)
    for name in ("config.yaml", "train.log", "metrics.jsonl"):  # what a kill -9 at step 3 leaves
        (run_dir / name).write_text("from the killed run\n")
    result = _train(cli, toy_file, "k")
    assert result.exit_code == 0, result.output
    assert "replacing the records of a run in checkpoints/k that never wrote a checkpoint (3 file(s))" in result.stderr
    assert "from the killed run" not in (run_dir / "train.log").read_text()


# -- 6. SIGTERM is Ctrl-C for schedulers -------------------------------------------------------------
def test_sigterm_saves_a_checkpoint_and_prints_the_resume_command(toy_file: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "genesis_cli", "train", "--config", "debug", "--data-path", str(toy_file),
               "--epochs", "50", "--batch-size", "8", "--experiment-name", "t", "--set", "training.log_interval=1"]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = tmp_path / "checkpoints" / "t" / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (metrics.exists() and metrics.stat().st_size > 0):
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr[-2000:]
    assert "Terminated (SIGTERM). Resume with: genesis resume checkpoints/t" in stderr
    saved = newest_checkpoint(tmp_path / "checkpoints" / "t")[1]
    assert saved.global_step >= 1


# -- 9. one history per run --------------------------------------------------------------------------
class CrashAt(TrainingObserver):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step(self, report: StepReport) -> None:
        if report.step == self.step:
            raise RuntimeError("simulated crash")


def _tensorboard_steps(folder: Path, tag: str) -> list[int]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder))
    events.Reload()
    return [event.step for event in events.Scalars(tag)]


def test_resume_after_a_crash_keeps_one_history_without_duplicates_or_gaps(toy_file: Path, tmp_path: Path) -> None:
    config = config_for(toy_file, tmp_path, "h", "training.save_interval=10")
    with pytest.raises(RuntimeError):  # crashes at step 27, after the checkpoint of step 20
        session.run(session.prepare_new_run(config), CrashAt(27))
    run_dir = tmp_path / "checkpoints" / "h"
    prepared = session.prepare_resume(run_dir, overrides={"log_dir": str(tmp_path / "logs")})
    assert prepared.resume is not None and prepared.resume.global_step == 20
    session.run(prepared)
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["kind"] == "step"] == list(range(1, 81))
    log_steps = [int(line.split(" step ")[1].split("/")[0]) for line in (run_dir / "train.log").read_text().splitlines()
                 if " loss " in line and " step " in line]
    assert log_steps == list(range(1, 81))
    assert "resumed at step 20" in (run_dir / "train.log").read_text()
    assert _tensorboard_steps(tmp_path / "logs" / "h", "train/loss") == list(range(1, 81))


# -- 10. Weights & Biases ---------------------------------------------------------------------------
class FakeWandb(types.ModuleType):
    def __init__(self) -> None:
        super().__init__("wandb")
        self.inits: list[dict[str, Any]] = []
        self.logged: list[dict[str, Any]] = []

    def init(self, **kwargs: Any) -> FakeWandb:
        self.inits.append(kwargs)
        return self

    def log(self, data: dict[str, Any], step: int) -> None:
        self.logged.append(data)

    def finish(self) -> None:
        pass


@pytest.mark.slow
def test_wandb_gets_a_fresh_run_id_per_run_and_continues_it_only_on_resume(toy_file: Path, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeWandb()
    monkeypatch.setitem(sys.modules, "wandb", fake)
    config = config_for(toy_file, tmp_path, "wb", "use_wandb=true", "training.num_epochs=1")
    session.run(session.prepare_new_run(config))
    session.run(session.prepare_new_run(config, overwrite=True))
    run_dir = tmp_path / "checkpoints" / "wb"
    session.run(session.prepare_resume(run_dir, overrides={"training.num_epochs": 2}))
    first, second, resumed = fake.inits
    assert first["id"] != second["id"] and first["id"].startswith("wb-")
    assert first["resume"] is None and second["resume"] is None
    assert resumed["id"] == second["id"] and resumed["resume"] == "allow"
    assert all("train/grad_norm" in data for data in fake.logged if "train/loss" in data)


def test_missing_wandb_is_reported_before_any_work(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "wandb", None)
    data = write_event_file(tmp_path / "d.h5", n=40)
    result = _train(cli, data, "nw", "--set", "use_wandb=true")
    assert result.exit_code == 2 and "the wandb package is not installed" in result.stderr
    assert not (tmp_path / "checkpoints").exists()


# -- 11. output paths come from the current command ------------------------------------------------
def test_resume_ignores_the_checkpoints_log_dir(cli: Cli, toy_file: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert _train(cli, toy_file, "c").exit_code == 0
    before = len(list((tmp_path / "logs" / "c").glob("events.out.tfevents.*")))
    path = tmp_path / "checkpoints" / "c" / FINAL
    payload = torch.load(path, weights_only=True)
    payload["config"]["log_dir"] = str(tmp_path / "elsewhere")  # as a crafted checkpoint might say
    torch.save(payload, path)
    result = cli("resume", str(path.parent), "--epochs", "2")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "elsewhere").exists()
    assert len(list((tmp_path / "logs" / "c").glob("events.out.tfevents.*"))) > before


# -- 14. unreadable newest checkpoints are skipped ---------------------------------------------------
def test_resume_and_sample_skip_a_truncated_newest_checkpoint(cli: Cli, toy_file: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert _train(cli, toy_file, "k", "--epochs", "2").exit_code == 0
    run_dir = tmp_path / "checkpoints" / "k"
    for name in (FINAL, BEST):
        data = (run_dir / name).read_bytes()
        (run_dir / name).write_bytes(data[: len(data) // 2])
    resumed = cli("resume", str(run_dir), "--epochs", "3")
    assert resumed.exit_code == 0, resumed.output
    assert f"skipped {run_dir.relative_to(tmp_path)}/model_final.pt" in resumed.stderr.replace(str(tmp_path) + "/", "")
    assert "resuming checkpoints/k/model_epoch_2.pt" in resumed.stderr.replace(str(tmp_path) + "/", "")
    assert "model_best.pt: not a readable GENESIS checkpoint" in resumed.output  # reported, not fatal
    (run_dir / BEST).write_bytes(b"foreign")
    sampled = cli("sample", "--checkpoint", str(run_dir), "--num-events", "2", "--output", str(tmp_path / "g.h5"))
    assert sampled.exit_code == 0, sampled.output
    assert "skipped" in sampled.stderr and "model_best.pt" in sampled.stderr


# -- 15. label errors name the file's event ----------------------------------------------------------
def test_train_names_the_files_event_with_a_bad_label(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    labels = np.column_stack([np.full(40, 1e4), np.full(40, 1.0), np.zeros(40), np.zeros((40, 3))])
    labels[5, 1] = np.nan
    result = _train(cli, write_event_file(tmp_path / "nan.h5", n=40, label=labels), "e")
    assert result.exit_code == 2
    assert "dataset 'label' has a non-finite zenith (nan) at event 5" in result.stderr
