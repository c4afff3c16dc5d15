"""Learning-rate schedules, early stopping and checkpoints, each on its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from genesis_cli.engine.runs.checkpoint import (
    FOR_SAMPLING,
    CheckpointMismatch,
    RunCheckpoint,
    load_checkpoint,
    save_checkpoint,
)
from genesis_cli.engine.runs.store import FINAL, CheckpointStore, newest_checkpoint, regular_checkpoints
from genesis_cli.engine.training.early_stopping import EarlyStopping
from genesis_cli.engine.training.lr_schedule import PlateauState, learning_rate
from genesis_cli.errors import UsageError
from genesis_cli.settings import resolve_config


def training(*overrides: str):  # type: ignore[no-untyped-def]
    return resolve_config(overrides=["training.learning_rate=1.0", *overrides]).config.training


def curve(t, total: int = 100, per_epoch: int = 10) -> list[float]:  # type: ignore[no-untyped-def]
    return [learning_rate(step, total, per_epoch, t) for step in range(total)]


# --- schedules -----------------------------------------------------------------------------------

def test_cosine_with_warmup() -> None:
    lrs = curve(training("training.warmup_steps=10"))
    assert lrs[:10] == pytest.approx([(i + 1) / 10 for i in range(10)])  # warmup actually applied
    assert lrs[10] == pytest.approx(1.0)
    assert lrs[55] == pytest.approx(0.5)  # halfway through the decay
    assert lrs[-1] < 0.001


def test_warmup_ratio_wins_over_warmup_steps() -> None:
    lrs = curve(training("training.warmup_steps=50", "training.warmup_ratio=0.2"))
    assert lrs[19] == pytest.approx(1.0) and lrs[18] < 1.0  # 20 warmup steps, not 50


def test_linear_decays_to_zero() -> None:
    lrs = curve(training("training.scheduler=linear", "training.warmup_steps=0"))
    assert lrs[0] == 1.0 and lrs[50] == pytest.approx(0.5) and lrs[-1] == pytest.approx(0.01)


def test_step_schedule_by_epochs() -> None:
    lrs = curve(training("training.scheduler=step", "training.warmup_steps=0", "training.step_size=3",
                         "training.gamma=0.5"))
    assert lrs[29] == 1.0 and lrs[30] == 0.5 and lrs[60] == 0.25


def test_none_is_constant_after_warmup() -> None:
    assert curve(training("training.scheduler=none", "training.warmup_steps=5"))[5:] == [1.0] * 95


def test_plateau_reduces_after_patience_and_respects_min_lr() -> None:
    t = training("training.scheduler=plateau", "training.plateau_patience=2", "training.plateau_factor=0.5",
                 "training.plateau_min_lr=0.3", "training.warmup_steps=0")
    state = PlateauState()
    reductions = [state.update(value, t) for value in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]
    assert reductions[:3] == [False, False, False] and reductions[3] is True
    assert state.scale == pytest.approx(0.3)  # 1 -> 0.5 -> floor 0.3, never below min_lr
    assert learning_rate(99, 100, 10, t, state.scale) == pytest.approx(0.3)
    restored = PlateauState()
    restored.load_state_dict(state.state_dict())
    assert restored == state


# --- early stopping: the guide's table --------------------------------------------------------------

def run(values: list[float], **settings: object) -> tuple[EarlyStopping, list[list[str]]]:
    es = EarlyStopping(**{"patience": 2, "min_delta": 0.0, "mode": "min", "baseline": None,
                          "restore_best": True, "verbose": True, **settings})
    messages = []
    for epoch, value in enumerate(values, start=1):
        messages.append(es.step(value, epoch)[1])
        if es.should_stop:
            break
    return es, messages


@pytest.mark.parametrize("values,settings,stopped,best,best_epoch", [
    ([1.0, 0.9, 0.8, 0.7], {}, None, 0.7, 4),                                   # keeps improving
    ([1.0, 1.0, 1.0], {}, 3, 1.0, 1),                                           # equal is not better (strict)
    ([1.0, 0.95, 0.96], {"min_delta": 0.05}, 3, 1.0, 1),                        # 0.05 better is not MORE than 0.05
    ([1.0, 0.94, 0.9], {"min_delta": 0.05}, None, 0.94, 2),
    ([1.0, 1.2, 1.3], {"mode": "max"}, None, 1.3, 3),
    ([1.0, 0.9, 0.8], {"mode": "max"}, 3, 1.0, 1),
    ([0.9, 0.8, 0.7], {"baseline": 0.5}, 2, None, None),                         # never beats the baseline
    ([0.9, 0.4, 0.45, 0.46], {"baseline": 0.5}, 4, 0.4, 2),
    ([1.0, 2.0], {"patience": 0}, 2, 1.0, 1),                                    # patience 0: first failure stops
])
def test_early_stopping_cases(values, settings, stopped, best, best_epoch) -> None:  # type: ignore[no-untyped-def]
    es, _ = run(values, **settings)
    assert es.stopped_epoch == stopped
    assert es.best == best and es.best_epoch == best_epoch


def test_early_stopping_messages_follow_the_guide() -> None:
    _, messages = run([0.0123, 0.0121, 0.013, 0.014])
    assert messages[0] == ["EarlyStopping: Metric improved to 0.012300"]
    assert messages[2] == ["EarlyStopping: No improvement for 1/2 epochs"]
    assert messages[3] == ["EarlyStopping: No improvement for 2/2 epochs", "🛑 Early stopping triggered at epoch 4",
                           "Best score: 0.012100 at epoch 2"]


def test_early_stopping_state_round_trip_keeps_new_patience() -> None:
    es, _ = run([1.0, 1.0])
    resumed = EarlyStopping(5, 0.0, "min", None, True, True)
    resumed.load_state_dict(es.state_dict())
    assert (resumed.best, resumed.wait, resumed.patience) == (1.0, 1, 5)


# --- checkpoints -------------------------------------------------------------------------------------

def saved(step: int) -> RunCheckpoint:
    return RunCheckpoint(epoch=0, global_step=step, model_state_dict={"w": torch.full((3,), float(step))},
                         optimizer_state_dict={}, config={})


def test_atomic_save_and_weights_only_load(tmp_path: Path) -> None:
    path = save_checkpoint(saved(7), tmp_path / "model_epoch_1.pt")
    assert load_checkpoint(path).global_step == 7
    assert torch.load(path, weights_only=True)["global_step"] == 7  # plain data on disk, the guide's keys
    assert not list(tmp_path.glob(".*.partial"))


def test_a_checkpoint_round_trips_every_part(tmp_path: Path) -> None:
    original = saved(3)
    original.ema_state_dict, original.split, original.geometry = {"shadow": {}}, {"fingerprint": "f"}, torch.ones(3, 4)
    loaded = load_checkpoint(save_checkpoint(original, tmp_path / "model_final.pt"))
    assert set(loaded.to_payload()) == set(original.to_payload())
    assert loaded.split == {"fingerprint": "f"} and torch.equal(loaded.geometry, torch.ones(3, 4))
    with pytest.raises(CheckpointMismatch, match="lacks 'normalizer'; it cannot be used to generate events"):
        loaded.require(FOR_SAMPLING, tmp_path / "model_final.pt", "generate events")


def test_interrupted_write_leaves_the_previous_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save_checkpoint(saved(1), tmp_path / "model_epoch_1.pt")

    def broken_save(obj: object, target) -> None:  # type: ignore[no-untyped-def]
        Path(target).write_bytes(b"half a checkpoint")
        raise KeyboardInterrupt  # a kill in the middle of torch.save

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(saved(2), path)
    monkeypatch.undo()
    assert load_checkpoint(path).global_step == 1
    assert not list(tmp_path.glob(".*.partial"))


def test_sigkill_during_a_write_leaves_the_previous_checkpoint(tmp_path: Path) -> None:
    path = save_checkpoint(saved(1), tmp_path / "model_epoch_1.pt")
    writer = textwrap.dedent(f"""
        import sys, torch
        from pathlib import Path
        sys.path.insert(0, {str(Path(__file__).parent.parent)!r})
        from genesis_cli.engine.runs.checkpoint import RunCheckpoint, save_checkpoint
        big = RunCheckpoint(epoch=0, global_step=2, model_state_dict={{"w": torch.zeros(400_000_000, dtype=torch.uint8)}},
                            optimizer_state_dict={{}}, config={{}})
        print("writing", flush=True)
        save_checkpoint(big, Path({str(path)!r}))
    """)
    process = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "writing"
    temporary = tmp_path / ".model_epoch_1.pt.partial"
    for _ in range(400):
        if temporary.exists() and temporary.stat().st_size > 0:
            break
        os.sched_yield()
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert load_checkpoint(path).global_step == 1  # the final name still holds the old, whole file


def test_store_keeps_the_last_k_and_cleans_stale_temporaries(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path, keep_last=2)
    (tmp_path / ".model_epoch_9.pt.partial").write_bytes(b"stale")
    for epoch in range(1, 5):
        store.save("regular", saved(epoch), epoch)
    assert [p.name for p in regular_checkpoints(tmp_path)] == ["model_epoch_3.pt", "model_epoch_4.pt"]
    assert not list(tmp_path.glob(".*.partial"))
    store.save("final", saved(10))
    assert newest_checkpoint(tmp_path)[0].name == FINAL


@pytest.mark.parametrize("content,message", [
    (b"not a checkpoint", "not a readable GENESIS checkpoint"),
    (None, "checkpoint not found"),
])
def test_bad_checkpoints_are_clear_errors(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "x.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UsageError, match=message):
        load_checkpoint(path)


def test_foreign_torch_file_is_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(2)}, path)
    with pytest.raises(UsageError, match="required keys missing"):
        load_checkpoint(path)


@pytest.mark.parametrize(("use_amp", "amp_dtype", "device", "expected"), [
    (True, "fp16", "cuda", torch.float16), (True, "bf16", "cuda", torch.bfloat16),
    (False, "fp16", "cuda", None), (True, "fp16", "cpu", None),
])
def test_mixed_precision_type(use_amp: bool, amp_dtype: str, device: str, expected: torch.dtype | None) -> None:
    from genesis_cli.engine.runtime.precision import autocast_dtype

    config = resolve_config("debug", overrides=[f"training.use_amp={str(use_amp).lower()}",
                                                f"training.amp_dtype={amp_dtype}"]).config
    assert autocast_dtype(config, torch.device(device)) == expected


def test_the_eta_after_a_resume_counts_only_this_process_steps() -> None:
    from genesis_cli.engine.runs.reports import StepReport

    def report(step: int, start_step: int) -> StepReport:
        return StepReport(1, step, 1000, 0.1, 0.1, 1e-4, 1.0, 100.0, elapsed_seconds=60.0, memory_bytes=0,
                          start_step=start_step)

    assert report(100, 0).eta_seconds == pytest.approx(60 / 100 * 900)
    # resumed at step 500: 60 s bought 100 steps, not 600
    assert report(600, 500).eta_seconds == pytest.approx(60 / 100 * 400)


def test_progress_shows_the_percentage_and_slow_rates_keep_their_digits() -> None:
    from genesis_cli.cli.dashboard import rate
    from genesis_cli.engine.runs.reports import StepReport

    report = StepReport(1, 250, 1000, 0.1, 0.1, 1e-4, 1.0, 0.42, elapsed_seconds=60.0, memory_bytes=0)
    assert report.percent == 25.0
    assert [rate(r) for r in (0.0042, 0.42, 7.34, 86.4, 99.6, 12_345.6)] == ["0.0042", "0.42", "7.3", "86", "100",
                                                                         "12,346"]


def test_the_guides_flat_checkpoint_paths_resolve_to_the_run_layout(tmp_path: Path) -> None:
    from genesis_cli.engine.runs.store import locate_checkpoint

    root = tmp_path / "checkpoints"
    for run, name in (("my_experiment", "model_epoch_50.pt"), ("cnn", "model_best.pt"), ("dit_experiment", "model_best.pt"),
                      ("dit_experiment", "model_final.pt")):
        (root / run).mkdir(parents=True, exist_ok=True)
        (root / run / name).write_bytes(b"")
    assert locate_checkpoint(root / "cnn" / "model_best.pt") == (root / "cnn" / "model_best.pt", None)
    path, notice = locate_checkpoint(root / "model_epoch_50.pt")
    assert path == root / "my_experiment" / "model_epoch_50.pt" and "in the run layout" in (notice or "")
    assert locate_checkpoint(root / "cnn_best.pt")[0] == root / "cnn" / "model_best.pt"
    assert locate_checkpoint(root / "dit_final.pt")[0] == root / "dit_experiment" / "model_final.pt"
    with pytest.raises(UsageError, match="2 runs hold one of that name") as ambiguous:
        locate_checkpoint(root / "model_best.pt")
    assert "checkpoints/cnn/model_best.pt" in (ambiguous.value.hint or "")
    with pytest.raises(UsageError, match="checkpoint not found") as missing:
        locate_checkpoint(root / "model_epoch_7.pt")
    assert "my_experiment/model_epoch_50.pt" in (missing.value.hint or "")
