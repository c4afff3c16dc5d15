"""Training budgets: `--max-steps N` and `--time-budget 30m` stop a run, and the LR schedule ends with them."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from genesis_cli.engine.comparison import parse_budget
from genesis_cli.engine.training import session
from genesis_cli.engine.training.lr_schedule import learning_rate
from genesis_cli.engine.training.trainer import Trainer
from genesis_cli.errors import ConfigError, UsageError
from genesis_cli.settings import TrainingConfig, resolve_config
from genesis_cli.settings.durations import parse_duration
from tests.conftest import CliResult
from tests.test_training import FAST, Recorder, config_for

Cli = Callable[..., CliResult]


@pytest.mark.parametrize(("text", "seconds"), [("30m", 1800), ("90s", 90), ("1.5h", 5400), ("1h30m", 5400),
                                                ("45", 45), ("2 min", 120), ("10 minutes", 600)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "30x", "m", "30mx", "1h-3"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_time_budget_is_validated_as_a_setting() -> None:
    assert resolve_config("debug", overrides=["training.time_budget=20m"]).config.training.time_budget == 1200
    with pytest.raises(ConfigError, match=r"training.time_budget: 'soon' is not a duration"):
        resolve_config("debug", overrides=["training.time_budget=soon"])
    with pytest.raises(ConfigError, match="training.max_steps"):
        resolve_config("debug", overrides=["training.max_steps=0"])


def test_compare_budget_uses_the_same_parser() -> None:
    assert parse_budget("300") == (300, None) and parse_budget("300steps") == (300, None)
    assert parse_budget("1h30m") == (None, 5400)
    with pytest.raises(UsageError, match="--budget 'forever'"):
        parse_budget("forever")


def test_schedule_ends_with_the_time_budget() -> None:
    t = TrainingConfig(learning_rate=1e-3, warmup_steps=0, scheduler="cosine")
    assert learning_rate(10, 1000, 100, t, time_fraction=0.0) == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi * 0.01)))
    assert learning_rate(10, 1000, 100, t, time_fraction=0.5) == pytest.approx(0.5e-3)
    assert learning_rate(10, 1000, 100, t, time_fraction=1.0) == pytest.approx(0.0)


def test_max_steps_stops_the_run_and_the_schedule_ends_there(toy_file: Path, tmp_path: Path) -> None:
    config = config_for(toy_file, tmp_path, "steps", "training.max_steps=30", "training.warmup_steps=0")
    recorder = Recorder()
    trainer = Trainer(config, session.prepare_new_run(config).run_dir, observer=recorder)
    assert trainer.total_steps == 30  # not 2 epochs x 40 steps
    assert trainer.fit() == "budget"
    assert trainer.global_step == 30
    assert recorder.steps[-1][2] == pytest.approx(2e-4 * 0.5 * (1 + math.cos(math.pi * 29 / 30)))
    assert any("Training budget reached at step 30" in m for m in recorder.messages)
    best = torch.load(trainer.run_dir / "model_best.pt", weights_only=True)
    assert best["global_step"] == 30  # the weights reached at the budget are judged, not only at epoch ends


def test_resume_with_a_larger_step_budget_continues(toy_file: Path, tmp_path: Path) -> None:
    config = config_for(toy_file, tmp_path, "more", "training.max_steps=20")
    run_dir = session.prepare_new_run(config).run_dir
    assert Trainer(config, run_dir).fit() == "budget"
    again = session.prepare_resume(run_dir)
    assert Trainer(again.config, again.run_dir, resume=again.resume).fit() == "budget"  # nothing left to do
    prepared = session.prepare_resume(run_dir, overrides={"training.max_steps": 50})
    assert any("training.max_steps changed on resume: 20 -> 50" in n for n in prepared.notices)
    trainer = Trainer(prepared.config, prepared.run_dir, resume=prepared.resume)
    assert trainer.fit() == "budget" and trainer.global_step == 50


def test_time_budget_from_the_cli(cli: Cli, toy_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("train", "--config", "debug", "--data-path", str(toy_file), "--epochs", "50",
                 "--experiment-name", "tb", "--time-budget", "2s", *FAST)
    assert result.exit_code == 0, result.output
    assert "training reached its budget" in result.stdout
    final = torch.load(tmp_path / "checkpoints" / "tb" / "model_final.pt", weights_only=True)
    assert 2.0 <= final["training_seconds"] < 30 and final["global_step"] < 50 * 40
    assert final["config"]["training"]["time_budget"] == 2.0
    bad = cli("train", "--config", "debug", "--data-path", str(toy_file), "--time-budget", "soon")
    assert bad.exit_code == 2 and "training.time_budget: 'soon' is not a duration" in bad.stderr
