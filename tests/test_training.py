"""Training end to end: the CLI, exact resume, interruptions, early stopping, failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from genesis_cli.engine.runs.reports import StepReport, TrainingObserver
from genesis_cli.engine.training import session
from genesis_cli.engine.training.trainer import Trainer
from genesis_cli.settings import resolve_config
from tests.conftest import CliResult, strip_ansi

Cli = Callable[..., CliResult]
FAST = ["--batch-size", "8", "--set", "training.log_interval=5", "--set", "training.eval_interval=1000"]


def config_for(toy_file: Path, tmp_path: Path, name: str, *overrides: str):  # type: ignore[no-untyped-def]
    return resolve_config("debug", overrides=[
        f"data.h5_path={toy_file}", f"experiment_name={name}", f"checkpoint_dir={tmp_path / 'checkpoints'}",
        f"log_dir={tmp_path / 'logs'}", "training.batch_size=8", "training.num_epochs=2", "training.log_interval=1",
        "training.save_interval=1000", "model.dropout=0.1", *overrides]).config


class Recorder(TrainingObserver):
    def __init__(self, stop_at: int | None = None) -> None:
        self.steps: list[tuple[int, float, float]] = []
        self.messages: list[str] = []
        self.stop_at = stop_at

    def on_step(self, report: StepReport) -> None:
        self.steps.append((report.step, report.loss, report.learning_rate))
        if report.step == self.stop_at:
            raise KeyboardInterrupt  # as if Ctrl-C arrived after this step

    def on_message(self, text: str) -> None:
        self.messages.append(text)


@pytest.mark.slow
def test_resume_mid_epoch_reproduces_the_uninterrupted_run(toy_file: Path, tmp_path: Path) -> None:
    straight = Recorder()
    config = config_for(toy_file, tmp_path, "straight")
    Trainer(config, session.prepare_new_run(config).run_dir, observer=straight).fit()

    first = Recorder(stop_at=55)  # 40 steps per epoch: mid-way through epoch 2
    config = config_for(toy_file, tmp_path, "interrupted")
    run_dir = session.prepare_new_run(config).run_dir
    with pytest.raises(KeyboardInterrupt):
        Trainer(config, run_dir, observer=first).fit()
    prepared = session.prepare_resume(run_dir)
    assert prepared.resume is not None and prepared.resume.global_step == 55
    second = Recorder()
    Trainer(prepared.config, prepared.run_dir, observer=second, resume=prepared.resume).fit()

    assert len(straight.steps) == 80
    assert first.steps + second.steps == straight.steps  # every step's loss and LR, exactly


def test_train_cli_end_to_end_and_resume(cli: Cli, toy_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("train", "--config", "debug", "--data-path", str(toy_file), "--epochs", "2",
                 "--experiment-name", "t1", *FAST)
    assert result.exit_code == 0, result.output
    assert "\x1b[" not in result.stdout  # plain lines when not a terminal
    assert "Epoch 1 completed: loss=" in result.stdout and "Epoch 2 completed: loss=" in result.stdout
    assert "epoch 1 step 5/80 (6%) loss" in result.stdout
    run = tmp_path / "checkpoints" / "t1"
    names = {p.name for p in run.iterdir()}
    assert {"model_epoch_1.pt", "model_epoch_2.pt", "model_best.pt", "model_final.pt", "config.yaml",
            "train.log", "metrics.jsonl"} <= names
    assert list((tmp_path / "logs" / "t1").glob("events.out.tfevents.*"))
    final = torch.load(run / "model_final.pt", weights_only=True)
    for key in ("epoch", "global_step", "model_state_dict", "optimizer_state_dict", "scheduler_state_dict",
                "best_loss", "config", "ema_state_dict", "scaler_state_dict", "rng_state", "normalizer",
                "split", "geometry", "schema_version", "genesis_version", "batch_in_epoch"):
        assert key in final
    assert final["global_step"] == 80 and final["epoch"] == 2

    resumed = cli("resume", str(run), "--epochs", "3")
    assert resumed.exit_code == 0, resumed.output
    assert "training.num_epochs changed on resume: 2 -> 3" in resumed.stderr
    assert "Epoch 3 completed" in resumed.stdout
    assert torch.load(run / "model_final.pt", weights_only=True)["global_step"] == 120
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()
             if '"kind": "step"' in line]
    assert steps == list(range(5, 121, 5))  # one continuous record across the resume


def test_a_second_run_of_a_name_becomes_a_new_version_never_an_overwrite(cli: Cli, toy_file: Path, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = ("train", "--config", "debug", "--data-path", str(toy_file), "--epochs", "1", "--experiment-name", "r", *FAST)
    assert cli(*args).exit_code == 0
    first = (tmp_path / "checkpoints/r/model_final.pt").read_bytes()
    again = cli(*args)  # no terminal here: a new version, said
    assert again.exit_code == 0, again.output
    assert "checkpoints/r already holds a run: this run is r_v2" in " ".join(again.output.split())
    assert (tmp_path / "checkpoints/r_v2/model_final.pt").exists()
    assert (tmp_path / "checkpoints/r/model_final.pt").read_bytes() == first
    assert "this run is r_v3" in " ".join(cli(*args).output.split())
    assert cli(*args, "--overwrite").exit_code == 0


def test_on_a_terminal_an_existing_run_is_resumed_versioned_or_left(cli: Cli, toy_file: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = ("train", "--config", "debug", "--data-path", str(toy_file), "--epochs", "1", "--experiment-name", "q", *FAST)
    assert cli(*args).exit_code == 0
    monkeypatch.setattr("genesis_cli.cli.train.interactive", lambda: True)
    cancelled = CliRunnerWithInput(cli)("3\n", *args)
    assert cancelled.exit_code == 130 and "checkpoints/q already holds a run." in cancelled.stdout
    assert not (tmp_path / "checkpoints/q_v2").exists()
    versioned = CliRunnerWithInput(cli)("2\n", *args)
    assert versioned.exit_code == 0 and (tmp_path / "checkpoints/q_v2/model_final.pt").exists()
    resumed = CliRunnerWithInput(cli)("1\n", *args[:-len(FAST)], "--epochs", "2")
    assert resumed.exit_code == 0, resumed.output
    assert torch.load(tmp_path / "checkpoints/q/model_final.pt", weights_only=True)["epoch"] == 2
    kept = CliRunnerWithInput(cli)("n\n", *args, "--overwrite")  # destructive: asked first, default no
    assert kept.exit_code == 130 and "Replace the run in checkpoints/q?" in kept.stdout


def test_without_a_config_a_terminal_offers_the_presets_and_scripts_are_told(cli: Cli, toy_file: Path, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from genesis_cli.settings.presets import preset_names

    monkeypatch.chdir(tmp_path)
    told = cli("train", "--data-path", str(tmp_path / "missing.h5"))
    assert "no --config given: using the default preset (dit, 512x8, 100 epochs)" in " ".join(told.stderr.split())
    monkeypatch.setattr("genesis_cli.cli.train.interactive", lambda: True)
    number = preset_names().index("debug") + 1
    chosen = CliRunnerWithInput(cli)(f"{number}\n", "train", "--data-path", str(toy_file), "--epochs", "1", *FAST)
    assert chosen.exit_code == 0, chosen.output
    assert "Train which preset?" in chosen.stdout and "default" in chosen.stdout
    assert (tmp_path / "checkpoints/debug/model_final.pt").exists()


def test_resume_without_a_run_offers_the_recent_ones(cli: Cli, toy_file: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert "no run with a checkpoint under checkpoints/" in cli("resume").stderr
    assert cli("train", "--config", "debug", "--data-path", str(toy_file), "--epochs", "1", "--experiment-name", "w",
               *FAST).exit_code == 0
    listed = cli("resume")
    assert listed.exit_code == 2 and "pass one of the most recent: checkpoints/w" in listed.stderr
    monkeypatch.setattr("genesis_cli.cli.train.interactive", lambda: True)
    picked = CliRunnerWithInput(cli)("1\n", "resume", "--epochs", "2")
    assert picked.exit_code == 0, picked.output
    assert torch.load(tmp_path / "checkpoints/w/model_final.pt", weights_only=True)["epoch"] == 2


def test_ctrl_c_saves_and_prints_the_resume_command(cli: Cli, toy_file: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    def interrupted(self) -> bool:  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "_end_epoch", interrupted)
    result = cli("train", "--config", "debug", "--data-path", str(toy_file), "--experiment-name", "c", *FAST)
    assert result.exit_code == 130
    assert "Resume with: genesis resume checkpoints/c" in result.stderr
    saved = torch.load(tmp_path / "checkpoints" / "c" / "model_epoch_1.pt", weights_only=True)
    assert saved["batch_in_epoch"] == 40


def test_nan_loss_stops_with_the_step_named(cli: Cli, toy_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    from genesis_cli.engine.diffusion import GaussianDiffusion

    original = GaussianDiffusion.loss
    calls = {"n": 0}

    def poisoned(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        loss = original(self, *args, **kwargs)
        return loss * float("nan") if calls["n"] == 12 else loss

    monkeypatch.setattr(GaussianDiffusion, "loss", poisoned)
    result = cli("train", "--config", "debug", "--data-path", str(toy_file), "--experiment-name", "n",
                 "--set", "training.save_interval=10", *FAST)
    assert result.exit_code == 1
    assert "Error: the loss became NaN or infinite at step 12; training stopped" in result.stderr
    run = tmp_path / "checkpoints" / "n"
    assert torch.load(run / "model_epoch_1.pt", weights_only=True)["global_step"] == 10  # last good one kept


def test_early_stopping_triggers_and_restores_best_weights(cli: Cli, toy_file: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("train", "--config", "debug", "--data-path", str(toy_file), "--experiment-name", "e",
                 "--epochs", "10", "--lr", "1e-12", "--early-stopping", "--early-stopping-patience", "1", *FAST)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "EarlyStopping: Metric improved to" in out
    assert "EarlyStopping: No improvement for 1/1 epochs" in out
    assert "🛑 Early stopping triggered at epoch 2" in out
    assert "Best score: " in out and " at epoch 1" in out
    assert "✅ Restored best model weights" in out
    assert "training stopped early" in out
    best = torch.load(tmp_path / "checkpoints/e/model_best.pt", weights_only=True)["model_state_dict"]
    final = torch.load(tmp_path / "checkpoints/e/model_final.pt", weights_only=True)["model_state_dict"]
    assert all(torch.equal(best[k], final[k]) for k in best)


@pytest.mark.slow
def test_resuming_an_early_stopped_run_trains_until_the_new_limits_stop_it(
        cli: Cli, toy_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    first = cli("train", "--config", "debug", "--data-path", str(toy_file), "--experiment-name", "es",
                "--epochs", "10", "--lr", "1e-12", "--early-stopping", "--early-stopping-patience", "1", *FAST)
    assert "🛑 Early stopping triggered at epoch 2" in first.stdout, first.output
    resumed = cli("resume", "checkpoints/es", "--epochs", "6", "--early-stopping-patience", "3")
    assert resumed.exit_code == 0, resumed.output
    # epoch 2 had waited 1 epoch: with patience 3, epochs 3 and 4 without improvement stop it at 4
    assert "EarlyStopping: No improvement for 3/3 epochs" in resumed.stdout
    assert "🛑 Early stopping triggered at epoch 4" in resumed.stdout
    final = torch.load(tmp_path / "checkpoints/es/model_final.pt", weights_only=True)
    assert final["epoch"] == 4 and final["early_stopping_state"]["stopped_epoch"] == 4


def test_train_resume_from_checkpoint_is_genesis_resume(cli: Cli, toy_file: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The guide's form: its own overrides at the start, then --config and --data-path with a flat path."""
    monkeypatch.chdir(tmp_path)
    first = cli("train", "--config", "debug", "--data-path", str(toy_file), "--epochs", "1", "--batch-size", "4",
                "--lr", "1e-4", "--experiment-name", "my_experiment", "--set", "training.max_steps_per_epoch=6")
    assert first.exit_code == 0, first.output
    resumed = cli("train", "--config", "debug", "--data-path", str(toy_file), "--epochs", "2",
                  "--resume-from-checkpoint", "checkpoints/model_epoch_1.pt")
    assert resumed.exit_code == 0, resumed.output
    text = " ".join(resumed.output.split())
    assert "checkpoints/model_epoch_1.pt is checkpoints/my_experiment/model_epoch_1.pt in the run layout" in text
    assert "--config debug is not read on resume" in text and "cannot change" not in text
    final = torch.load(tmp_path / "checkpoints/my_experiment/model_final.pt", weights_only=True)
    assert final["epoch"] == 2 and final["config"]["training"]["batch_size"] == 4
    assert final["config"]["experiment_name"] == "my_experiment"
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == ["my_experiment"]  # one TensorBoard history
    refused = cli("train", "--resume-from-checkpoint", "checkpoints/my_experiment", "--batch-size", "8")
    assert refused.exit_code == 2 and "training.batch_size: cannot change on resume" in refused.stderr


def test_best_and_final_checkpoints_can_leave_out_the_optimizer(toy_file: Path, tmp_path: Path) -> None:
    config = config_for(toy_file, tmp_path, "lean", "training.save_optimizer_in_best=false", "training.num_epochs=1")
    run_dir = session.prepare_new_run(config).run_dir
    Trainer(config, run_dir).fit()
    final = torch.load(run_dir / "model_final.pt", weights_only=True)
    regular = torch.load(run_dir / "model_epoch_1.pt", weights_only=True)
    assert final["optimizer_state_dict"] is None and regular["optimizer_state_dict"]["state"]
    assert (run_dir / "model_final.pt").stat().st_size < 0.75 * (run_dir / "model_epoch_1.pt").stat().st_size
    prepared = session.prepare_resume(run_dir / "model_final.pt", overrides={"training.num_epochs": 2})
    assert any("holds no optimizer state" in notice and "the optimizer restarts" in notice
               for notice in prepared.notices)
    trainer = Trainer(prepared.config, prepared.run_dir, resume=prepared.resume, resume_path=prepared.checkpoint)
    assert trainer.fit() == "completed" and trainer.epoch == 2


def test_resume_with_new_patience_is_reported(toy_file: Path, tmp_path: Path) -> None:
    config = config_for(toy_file, tmp_path, "p", "training.early_stopping=true", "training.num_epochs=1")
    run_dir = session.prepare_new_run(config).run_dir
    Trainer(config, run_dir).fit()
    prepared = session.prepare_resume(run_dir, overrides={"training.early_stopping_patience": 7,
                                                          "training.num_epochs": 2})
    assert any("early_stopping_patience changed on resume: 20 -> 7 (the new patience applies)" in n
               for n in prepared.notices)
    trainer = Trainer(prepared.config, prepared.run_dir, resume=prepared.resume)
    assert trainer.early is not None and trainer.early.patience == 7 and trainer.early.best is not None


def test_no_data_path_without_a_terminal_names_the_flag(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("train", "--config", "debug")
    assert result.exit_code == 2
    assert "Error: no training data given" in result.stderr and "--data-path" in result.stderr


def test_unwritable_checkpoint_directory(cli: Cli, toy_file: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = cli("train", "--config", "debug", "--data-path", str(toy_file), "--set", f"checkpoint_dir={blocker}")
    assert result.exit_code == 2
    assert "cannot create or write the run directory" in result.stderr


def test_guide_flags_are_accepted(cli: Cli, toy_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("train", "--arch", "cnn", "--early-stopping", "--data-path", str(toy_file), "--epochs", "1",
                 "--scheduler", "plateau", "--no-restore-best-weights", "--seed", "3", "--device", "cpu", "--no-amp",
                 "--set", "model.hidden=32", "--set", "model.depth=1", *FAST)
    assert result.exit_code == 0, result.output
    saved = torch.load(tmp_path / "checkpoints" / "cnn" / "config.yaml".replace("config.yaml", "model_final.pt"),
                       weights_only=True)["config"]
    assert saved["model"]["architecture"] == "cnn" and saved["training"]["early_stopping_restore_best"] is False
    assert saved["seed"] == 3 and saved["training"]["scheduler"] == "plateau"


def test_two_process_gloo_training(toy_file: Path, tmp_path: Path) -> None:
    """torchrun --nproc_per_node=2 -m genesis_cli train ... on CPU (gloo): one run, rank 0 writes."""
    import socket

    with socket.socket() as probe:  # a free loopback port for the rendezvous
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parent.parent)}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={port}",
               "--master_addr=127.0.0.1",
               "-m", "genesis_cli", "train", "--config", "debug", "--data-path", str(toy_file),
               "--epochs", "1", "--experiment-name", "ddp", "--device", "cpu", "--batch-size", "8",
               "--set", "training.log_interval=5"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    out = strip_ansi(result.stdout)
    assert out.count("Epoch 1 completed") == 1  # rank 0 alone reports
    assert out.count("training completed") == 1
    final = torch.load(tmp_path / "checkpoints" / "ddp" / "model_final.pt", weights_only=True)
    assert final["global_step"] == 20  # 320 training events / (2 ranks x batch 8)


def _step_losses(run_dir: Path) -> dict[int, float]:
    """Last logged loss of every step (a killed run may have logged steps that the resume repeats)."""
    losses: dict[int, float] = {}
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["kind"] == "step":
            losses[record["step"]] = record["loss"]
    return losses


@pytest.mark.slow
def test_sigkill_then_resume_reproduces_the_uninterrupted_losses(toy_file: Path, tmp_path: Path) -> None:
    import signal
    import time

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    base = [sys.executable, "-m", "genesis_cli", "train", "--config", "debug", "--data-path", str(toy_file),
            "--epochs", "2", "--batch-size", "8", "--set", "training.log_interval=1", "--set", "training.save_interval=15"]
    subprocess.run([*base, "--experiment-name", "whole"], cwd=tmp_path, env=env, check=True, capture_output=True)

    victim = subprocess.Popen([*base, "--experiment-name", "killed"], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run_dir = tmp_path / "checkpoints" / "killed"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and victim.poll() is None:
        if (run_dir / "model_epoch_2.pt").exists():  # mid-way through epoch 2 (step 45)
            break
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    resumed = subprocess.run([sys.executable, "-m", "genesis_cli", "resume", str(run_dir)], cwd=tmp_path, env=env,
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert _step_losses(run_dir) == _step_losses(tmp_path / "checkpoints" / "whole")


def test_live_dashboard_renders_everything() -> None:
    from rich.console import Console

    from genesis_cli.cli.dashboard import LiveDashboard, sparkline
    from genesis_cli.engine.runs.reports import EpochReport, EvalReport, RunInfo

    console = Console(record=True, force_terminal=True, width=120)
    board = LiveDashboard(console)
    board.on_start(RunInfo("t1", "checkpoints/t1", "cpu", "dit", 973048, 16000, 2000, 500, 1000, 2, 0, 20, None))
    board.on_step(StepReport(1, 250, 1000, 0.25, 0.3, 1e-4, 0.8, 190.0, 12.0, 2**30, (0.5, 0.4, 0.3, 0.25)))
    board.on_eval(EvalReport(1, 250, 0.27))
    board.on_epoch(EpochReport(1, 500, 0.3, 0.27, "val_loss", True, 0.27, 1, 0, 20))
    board.on_message("EarlyStopping: Metric improved to 0.270000")
    board.on_end("completed")
    console.print(board._render())
    text = strip_ansi(console.export_text())
    for expected in ["GENESIS · t1 · dit · 973,048 params · cpu", "epoch 1/2 · step 250/1,000", "ETA",
                     "0.25000", "1.000e-04", "190 events/s", "0.27000", "0/20 epochs without improvement",
                     "best 0.270000 at epoch 1", "Epoch 1 completed: loss=0.2700"]:
        assert expected in text
    assert sparkline([1.0, 2.0, 3.0]) == "▁▅█"


def test_interactive_prompt_offers_the_event_files_here_or_toy_data(cli: Cli, toy_file: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("genesis_cli.cli.train.interactive", lambda: True)
    monkeypatch.setattr("genesis_cli.cli.train.TOY_EVENTS", 120)
    declined = CliRunnerWithInput(cli)("2\n", "train", "--config", "debug", *FAST)  # 1: toy data, 2: cancel
    assert declined.exit_code == 130 and not (tmp_path / "genesis_toy.h5").exists()
    accepted = CliRunnerWithInput(cli)("1\n", "train", "--config", "debug", "--epochs", "1", *FAST)
    assert accepted.exit_code == 0, accepted.output
    assert (tmp_path / "genesis_toy.h5").exists()
    (tmp_path / "mine.h5").write_bytes(toy_file.read_bytes())
    offered = CliRunnerWithInput(cli)("2\n", "train", "--config", "debug", "--epochs", "1", "--experiment-name", "m",
                                      *FAST)  # 1: genesis_toy.h5, 2: mine.h5
    assert offered.exit_code == 0, offered.output
    assert "mine.h5" in offered.stdout
    assert "mine.h5" in (tmp_path / "checkpoints/m/config.yaml").read_text()


class CliRunnerWithInput:
    """Run the CLI with text on standard input (the cli fixture's environment)."""

    def __init__(self, cli: Cli) -> None:
        self.cli = cli

    def __call__(self, text: str, *args: str) -> CliResult:
        from typer.testing import CliRunner

        from genesis_cli.cli.app import app

        result = CliRunner().invoke(app, list(args), input=text, env={"COLUMNS": "200"})
        return CliResult(result.exit_code, strip_ansi(result.stdout), strip_ansi(result.stderr), result.exception)


def test_tensorboard_has_the_guide_tags(toy_file: Path, tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    config = config_for(toy_file, tmp_path, "tb", "training.num_epochs=1", "training.eval_interval=20")
    Trainer(config, session.prepare_new_run(config).run_dir).fit()
    events = EventAccumulator(str(tmp_path / "logs" / "tb"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/learning_rate", "train/epoch", "eval/loss", "train/events_per_second",
            "train/grad_norm"} <= tags


def test_wandb_missing_is_a_clear_error(cli: Cli, toy_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "wandb", None)  # as if not installed
    result = cli("train", "--config", "debug", "--data-path", str(toy_file), "--set", "use_wandb=true", *FAST)
    assert result.exit_code == 2
    assert "use_wandb is on but the wandb package is not installed" in result.stderr


def test_resume_refuses_changed_architecture(toy_file: Path, tmp_path: Path) -> None:
    from genesis_cli.engine.runs.resume import resume_config
    from genesis_cli.errors import ConfigError

    saved = config_for(toy_file, tmp_path, "a").to_dict()
    changed = config_for(toy_file, tmp_path, "a", "model.architecture=cnn", "training.learning_rate=1e-3")
    with pytest.raises(ConfigError) as info:
        resume_config(saved, changed)
    assert [line.split(":")[0] for line in info.value.lines] == ["model.architecture", "training.learning_rate"]
    allowed = config_for(toy_file, tmp_path, "a", "training.num_epochs=9", "device=cpu")
    _, notices = resume_config(saved, allowed)
    assert notices == ["device changed on resume: 'auto' -> 'cpu'", "training.num_epochs changed on resume: 2 -> 9"]


@pytest.mark.parametrize("name,kind", [("AdamW", torch.optim.AdamW), ("Adam", torch.optim.Adam), ("SGD", torch.optim.SGD)])
def test_optimizers(name: str, kind: type, toy_file: Path, tmp_path: Path) -> None:
    from genesis_cli.engine.training.components import build_optimizer

    config = config_for(toy_file, tmp_path, "o", f"training.optimizer={name}", "training.weight_decay=0.05")
    optimizer = build_optimizer(config, torch.nn.Linear(2, 2), torch.device("cpu"))
    assert isinstance(optimizer, kind) and optimizer.param_groups[0]["weight_decay"] == 0.05


def test_compile_setting_trains_and_resumes_identically_with_the_eager_backend(toy_file: Path, tmp_path: Path) -> None:
    """torch.compile wiring on CPU with the cheap 'eager' backend: same losses as no compilation."""
    plain, compiled = Recorder(), Recorder()
    for name, recorder, extra in (("plain", plain, "training.compile=false"),
                                  ("compiled", compiled, "training.compile_backend=eager")):
        config = config_for(toy_file, tmp_path, name, "training.num_epochs=1", "model.dropout=0.0", extra,
                            *(["training.compile=true"] if name == "compiled" else []))
        Trainer(config, session.prepare_new_run(config).run_dir, observer=recorder).fit()
    assert compiled.steps == plain.steps


def test_failing_compilation_falls_back_with_a_message(toy_file: Path, tmp_path: Path) -> None:
    recorder = Recorder()
    config = config_for(toy_file, tmp_path, "fallback", "training.num_epochs=1", "training.compile=true",
                        "training.compile_backend=no_such_backend")
    Trainer(config, session.prepare_new_run(config).run_dir, observer=recorder).fit()
    assert any(m.startswith("torch.compile failed") for m in recorder.messages)
    assert len(recorder.steps) == 40


def test_gradient_checkpointing_gives_the_same_gradients() -> None:
    from genesis_cli.engine.models import build_model

    grads = []
    for flag in ("false", "true"):
        torch.manual_seed(0)
        config = resolve_config("debug", overrides=[f"model.gradient_checkpointing={flag}", "model.hidden=32",
                                                    "model.heads=2"]).config
        model = build_model(config.model).train()
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.sin(torch.arange(p.numel(), dtype=torch.float32).reshape(p.shape)) * 0.05)
        geometry = torch.from_numpy(__import__("genesis_cli.engine.detector", fromlist=["x"]).icecube86_geometry().positions).float() / 541
        x, label = torch.randn(2, model.channels, 5160, generator=torch.Generator().manual_seed(1)), torch.zeros(2, 6)
        model(x, torch.tensor([3, 9]), label, geometry).square().mean().backward()
        grads.append(torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten() for p in model.parameters()]))
    assert torch.allclose(grads[0], grads[1], atol=1e-6)


def test_train_uses_a_custom_loss_class_named_in_the_settings(cli: Cli, toy_file: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The guide's Custom Loss, as the guide writes it (no generator argument), through a setting."""
    (tmp_path / "mylosses.py").write_text(
        "from genesis_cli import GaussianDiffusion\n"
        "CALLS = []\n"
        "class CustomDiffusion(GaussianDiffusion):\n"
        "    def loss(self, x0_sig, geom, label):\n"
        "        CALLS.append(len(x0_sig))\n"
        "        return 2 * super().loss(x0_sig, geom, label)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    args = ("train", "--config", "debug", "--data-path", str(toy_file), "--epochs", "1", *FAST)
    result = cli(*args, "--set", "diffusion.loss_class=mylosses:CustomDiffusion")
    assert result.exit_code == 0, result.output
    import mylosses  # type: ignore[import-not-found]

    assert len(mylosses.CALLS) >= 40  # every training step (and validation) went through the user's loss
    missing = cli(*args, "--set", "diffusion.loss_class=nopkg.losses:CustomDiffusion")
    assert missing.exit_code == 2
    assert "diffusion.loss_class 'nopkg.losses:CustomDiffusion': cannot import nopkg.losses" in missing.stderr
    wrong = cli(*args, "--set", "diffusion.loss_class=json:JSONDecoder")
    assert wrong.exit_code == 2 and "not a subclass of GaussianDiffusion" in wrong.stderr
    malformed = cli(*args, "--set", "diffusion.loss_class=CustomDiffusion")
    assert malformed.exit_code == 2 and "diffusion.loss_class" in malformed.stderr
