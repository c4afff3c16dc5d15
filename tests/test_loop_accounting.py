"""Where a training run's time goes (phases.py), and checkpoints written off the training thread (writer.py)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import torch

from genesis_cli.engine.runs.checkpoint import NonFiniteWeights, RunCheckpoint, load_checkpoint
from genesis_cli.engine.runs.store import BEST, CheckpointStore, regular_name
from genesis_cli.engine.runs.writer import CheckpointWriter
from genesis_cli.engine.runtime.phases import PHASES, PhaseClock


def _checkpoint(step: int, weight: torch.Tensor) -> RunCheckpoint:
    return RunCheckpoint(epoch=1, global_step=step, model_state_dict={"w": weight}, optimizer_state_dict={},
                         config={}, ema_state_dict={"decay": 0.9, "updates": 1, "shadow": {"w": weight}})


def test_phases_add_up_and_an_inner_phase_is_not_counted_twice() -> None:
    clock = PhaseClock(torch.device("cpu"))
    clock.start()
    with clock.phase("data"):
        time.sleep(0.02)
    with clock.phase("checkpoint"):
        with clock.phase("logging"):  # nested: the outer phase keeps the time
            time.sleep(0.02)
    time.sleep(0.01)  # in no phase
    clock.steps = 2
    clock.stop()
    account = clock.account()
    assert account.seconds["data"] >= 0.02 and account.seconds["checkpoint"] >= 0.02
    assert account.seconds["logging"] == 0.0
    assert sum(account.seconds.values()) <= account.wall
    assert account.other >= 0.01
    assert abs(sum(account.share(p) for p in (*PHASES, "other")) - 1.0) < 1e-9
    assert "time per step" in account.summary() and "host wall time" in account.summary()


def test_the_writer_writes_a_snapshot_of_the_moment_it_was_asked(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path, keep_last=3)
    writer = CheckpointWriter(store)
    weight = torch.zeros(1000)
    host = writer.snapshot(_checkpoint(5, weight))
    writer.save([("regular", host, 1), ("best", host, 1)])
    weight += 1  # training goes on while the file is written
    writer.wait()
    for name in (regular_name(1), BEST):
        saved = load_checkpoint(tmp_path / name)
        assert saved.global_step == 5 and float(saved.model_state_dict["w"].sum()) == 0.0


def test_non_finite_weights_stop_at_the_save_and_nothing_is_written(tmp_path: Path) -> None:
    writer = CheckpointWriter(CheckpointStore(tmp_path, keep_last=3))
    bad = writer.snapshot(_checkpoint(7, torch.tensor([1.0, float("nan")])))
    with pytest.raises(NonFiniteWeights, match="step 7"):
        writer.save([("regular", bad, 1)])
    writer.wait()
    assert not list(tmp_path.glob("*.pt"))


def test_a_failed_background_write_is_raised_on_the_training_thread(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "gone", keep_last=3)  # the directory does not exist
    writer = CheckpointWriter(store)
    writer.save([("regular", writer.snapshot(_checkpoint(1, torch.zeros(3))), 1)])
    with pytest.raises(Exception):  # noqa: B017 - whatever the file system raised
        writer.wait()
    writer.wait()  # raised once, then cleared


def test_one_write_at_a_time_in_the_order_saved(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path, keep_last=10)
    order: list[int] = []
    lock = threading.Lock()
    write = store.write

    def slow_write(kind: str, checkpoint: RunCheckpoint, epoch: int) -> Path:
        with lock:
            order.append(epoch)
        time.sleep(0.05)
        return write(kind, checkpoint, epoch)

    store.write = slow_write  # type: ignore[method-assign]
    writer = CheckpointWriter(store)
    for epoch in (1, 2, 3):
        writer.save([("regular", writer.snapshot(_checkpoint(epoch, torch.zeros(3))), epoch)])
        assert writer._thread is not None and writer._thread.is_alive()  # the caller did not wait for the disk
    writer.wait()
    assert order == [1, 2, 3]
    assert [load_checkpoint(tmp_path / regular_name(e)).global_step for e in (1, 2, 3)] == [1, 2, 3]


def test_a_run_reports_where_its_time_went(cli, toy_file: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("train", "--config", "debug", "--data-path", str(toy_file), "--epochs", "1", "--batch-size", "8",
                 "--set", "training.max_steps_per_epoch=6", "--experiment-name", "acct")
    assert result.exit_code == 0, result.output
    assert "time per step" in result.stdout
    run = tmp_path / "checkpoints" / "acct"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    phases = [r for r in records if r["kind"] == "phases"]
    assert len(phases) == 1 and phases[0]["steps"] == 6
    phase_sum = sum(phases[0][f"{p}_seconds"] for p in PHASES)
    assert 0 < phase_sum <= phases[0]["wall_seconds"]
    assert all(phases[0][f"{p}_seconds"] > 0 for p in ("data", "forward", "backward", "optimizer", "checkpoint"))
    assert "time per step" in (run / "train.log").read_text()
    best, regular = (load_checkpoint(run / name) for name in (BEST, regular_name(1)))
    assert best.global_step == regular.global_step == 6  # one snapshot at the epoch's end, two files
    assert all(torch.equal(tensor, regular.model_state_dict[name]) for name, tensor in best.model_state_dict.items())
