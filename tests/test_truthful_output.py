"""Every output tells the truth (issue 26): progress in batch logs, labels the model can answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from genesis_cli.cli.output import PLAIN_PROGRESS_SECONDS, plain_progress
from genesis_cli.engine.data.normalization import Normalizer
from genesis_cli.engine.sampling.label_checks import check_file_labels, check_requested
from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def _errors(result: CliResult) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("Error:")]


# -- item 2: plain progress lines when there is no terminal --------------------------------------------
def test_sample_in_a_script_prints_progress_lines(cli: Cli, trained_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "gen.h5"
    result = cli("sample", "--checkpoint", str(trained_run), "-n", "12", "--batch-size", "4", "-o", str(out))
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("sampling gen.h5:")]
    assert lines[0].startswith("sampling gen.h5: 4 / 12 (33%)")  # the first batch at once
    assert lines[-1].startswith("sampling gen.h5: 12 / 12 (100%)")  # and the end
    assert "\x1b" not in result.stderr


def test_plain_progress_prints_at_most_every_interval_and_always_the_end() -> None:
    now = [0.0]
    console = Console(record=True, width=200)
    advance = plain_progress(100, "sampling x.h5", console, clock=lambda: now[0])
    for done, at in [(10, 1.0), (20, 2.0), (30, PLAIN_PROGRESS_SECONDS + 1.5), (40, PLAIN_PROGRESS_SECONDS + 2), (100, 30.0)]:
        now[0] = at
        advance(done)
    lines = console.export_text().splitlines()
    assert [line.split(":")[1].split("(")[0].strip() for line in lines] == ["10 / 100", "30 / 100", "100 / 100"]
    assert lines[0] == "sampling x.h5: 10 / 100 (10%), 10.0/s, ETA 0:00:09"
    assert lines[-1] == "sampling x.h5: 100 / 100 (100%), 3.3/s"


# -- item 5: labels the model never saw ----------------------------------------------------------------
@pytest.mark.parametrize("flag,value,hint", [("--zenith", "0:180", "0:180 degrees is --zenith 0:3.142"),
                                             ("--azimuth", "0:360", "0:360 degrees is --azimuth 0:6.283"),
                                             ("--zenith", "-1:1", "give --zenith in radians")])
def test_impossible_angles_are_refused_before_anything_is_loaded(cli: Cli, tmp_path: Path, flag: str, value: str,
                                                                  hint: str) -> None:
    out = tmp_path / "gen.h5"
    result = cli("sample", "--checkpoint", str(tmp_path / "no-such-run"), "-n", "4", "-o", str(out), flag, value)
    assert result.exit_code == 2
    assert _errors(result) == [f"Error: {flag} {value}: outside the {flag[2:]}'s range, 0 to "
                               f"{np.pi * (1 if flag == '--zenith' else 2):.4f} rad"]
    assert hint in result.stderr and not out.exists()


def test_energies_beyond_the_training_range_are_named(cli: Cli, trained_run: Path, tmp_path: Path) -> None:
    result = cli("sample", "--checkpoint", str(trained_run), "-n", "4", "-o", str(tmp_path / "g.h5"),
                 "--energy", "1e9:1e10", "--steps", "2")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and warnings[0].startswith("Warning: --energy 1e+09:1e+10 GeV reaches outside the "
                                                         "training range")
    assert "the model never saw such events" in warnings[0]


def test_a_labels_file_beyond_the_training_range_is_named(cli: Cli, trained_run: Path, toy_file: Path,
                                                          tmp_path: Path) -> None:
    import h5py

    labels_file = tmp_path / "labels.h5"
    labels_file.write_bytes(toy_file.read_bytes())
    with h5py.File(labels_file, "a") as handle:
        handle["label"][:3, 0] = 1e12  # three events at 1e12 GeV
    result = cli("sample", "--checkpoint", str(trained_run), "--labels-from", str(labels_file), "-n", "8",
                 "-o", str(tmp_path / "g.h5"), "--steps", "2")
    assert result.exit_code == 0, result.output
    assert f"Warning: {labels_file}: 3 of 8 events lie outside the training energy range" in result.stderr


def _normalizer(labels: np.ndarray) -> Normalizer:
    from genesis_cli.engine.detector import icecube86_geometry

    rng = np.random.default_rng(0)
    return Normalizer.fit(rng.exponential(3, 500) + 0.2, rng.normal(10_000, 50, 500), labels, icecube86_geometry(),
                          time_origin="file", hit_channel=True, no_hit_time=-1.0, replace_time_inf_with=-1.0,
                          onsets=np.full(len(labels), 10_000.0))


def test_the_run_keeps_its_training_label_range() -> None:
    labels = np.array([[1e3, 0.1, 0.2, -500, -400, -300], [1e6, 3.0, 6.0, 500, 400, 300]])
    normalizer = _normalizer(labels)
    assert normalizer.label_low == (1e3, 0.1, 0.2, -500, -400, -300)
    back = Normalizer.from_state_dict(json.loads(json.dumps(normalizer.state_dict())))
    assert back == normalizer
    assert check_requested({"energy": (1e3, 1e6), "x": (-500, 500)}, normalizer) == []  # the range itself
    [warning] = check_requested({"energy": (1e3, 1e6), "x": (-800, 0)}, normalizer)
    assert warning.startswith("--x -800:0 m reaches outside the training range -500-500 m")
    inside = labels.copy()
    assert check_file_labels(Path("f.h5"), inside, normalizer) == []
    inside[0, 5] = 900.0
    assert check_file_labels(Path("f.h5"), inside, normalizer) == [
        "f.h5: 1 of 2 events lie outside the training z range -300-300 m: the model extrapolates for them"]


def _estimated(normalizer: Normalizer) -> str:
    half = 3 ** 0.5 * normalizer.log_energy_std
    return f"{10 ** (normalizer.log_energy_mean - half):.3g}-{10 ** (normalizer.log_energy_mean + half):.3g}"


def test_a_run_fitted_before_the_range_was_kept_checks_its_energies_only() -> None:
    normalizer = _normalizer(np.array([[1e3, 0.1, 0.2, 0, 0, 0], [1e6, 3.0, 6.0, 1, 1, 1]]))
    state = {k: v for k, v in normalizer.state_dict().items() if k not in ("label_low", "label_high")}
    old = Normalizer.from_state_dict(state)
    assert old.label_low is None
    assert check_requested({"x": (-5000, 5000)}, old) == []
    assert check_requested({"energy": (1e9, 1e10)}, old)[0].startswith("--energy 1e+09:1e+10 GeV reaches outside")
    far = np.array([[1e12, 0.1, 0.2, 9e3, 0, 0], [1e4, 0.1, 0.2, 0, 0, 0]])  # a file: energies too, as for ranges
    assert check_file_labels(Path("f.h5"), far, old) == [
        f"f.h5: 1 of 2 events lie outside the training energy range {_estimated(old)} GeV: the model extrapolates "
        "for them"]



# -- item 6: resuming a finished, an early-stopped, or an extended run ---------------------------------
def _checkpoint_and_config(run: Path, **training: object):  # type: ignore[no-untyped-def]
    from genesis_cli.engine.runs.checkpoint import load_checkpoint
    from genesis_cli.settings import derive_config

    checkpoint = load_checkpoint(run / "model_final.pt")
    saved = checkpoint.settings()
    config = derive_config(saved, {f"training.{k}": v for k, v in training.items()}, "test")
    return checkpoint, saved, config


def test_resuming_a_finished_run_says_there_is_nothing_to_do(cli: Cli, trained_run: Path, tmp_path: Path) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    before = {p.name: p.stat().st_mtime_ns for p in run.iterdir()}
    result = cli("resume", str(run))
    assert result.exit_code == 0, result.output
    assert (f"Note: nothing to do: {run} has finished its 1 epoch(s)" in result.stderr
            and "to train longer, resume with a larger --epochs (now 1), --max-steps or --time-budget" in result.stderr)
    assert "training completed" not in result.output
    assert {p.name: p.stat().st_mtime_ns for p in run.iterdir()} == before  # nothing written


def test_an_early_stopped_run_resumed_with_the_same_patience_has_nothing_to_do(trained_run: Path) -> None:
    from dataclasses import replace

    from genesis_cli.engine.runs.resume import nothing_left

    checkpoint, _, config = _checkpoint_and_config(trained_run, num_epochs=10, early_stopping=True,
                                                   early_stopping_patience=3)
    stopped = replace(checkpoint, early_stopping_state={"best": 1.0, "best_epoch": 1, "wait": 3, "stopped_epoch": 1,
                                                        "patience": 3})
    message = nothing_left(stopped, config, trained_run)
    assert message is not None and "stopped early at epoch 1 (3 epoch(s) without improvement; patience 3)" in message
    assert message.endswith("raise --early-stopping-patience above 3")
    _, _, patient = _checkpoint_and_config(trained_run, num_epochs=10, early_stopping=True, early_stopping_patience=5)
    assert nothing_left(stopped, patient, trained_run) is None  # a larger patience: training goes on
    assert nothing_left(checkpoint, config, trained_run) is None  # 1 of 10 epochs, never stopped


def test_extending_a_cosine_run_says_what_the_learning_rate_does(trained_run: Path) -> None:
    from genesis_cli.engine.training.session import schedule_change

    checkpoint, saved, config = _checkpoint_and_config(trained_run, num_epochs=4)
    assert saved.training.scheduler == "cosine" and saved.training.num_epochs == 1
    message = schedule_change(checkpoint, saved, config)
    per_epoch = checkpoint.scheduler_state_dict["steps_per_epoch"]
    assert message is not None and message.startswith(
        f"the cosine learning-rate schedule now ends at step {4 * per_epoch:,} (was {per_epoch:,}): the learning rate "
        f"goes from ")
    assert "then decays to 0 by the new end" in message
    assert schedule_change(checkpoint, saved, saved) is None  # the same horizon: nothing to say


def test_a_resume_reports_only_the_settings_that_changed(trained_run: Path) -> None:
    from genesis_cli.engine.runs.resume import resume_config

    checkpoint, saved, config = _checkpoint_and_config(trained_run, num_epochs=3)
    _, notices = resume_config(checkpoint.config, config)  # the judge's keys the loading drops are no change
    assert notices == ["training.num_epochs changed on resume: 1 -> 3"]


# -- item 9: prompts, the dashboard, messages and help ---------------------------------------------------
def _board():  # type: ignore[no-untyped-def]
    from genesis_cli.cli.dashboard import LiveDashboard
    from genesis_cli.engine.runs.reports import RunInfo

    console = Console(record=True, force_terminal=True, width=120)
    board = LiveDashboard(console)
    board.on_start(RunInfo("t1", "checkpoints/t1", "cuda:0", "dit", 973048, 16000, 2000, 5, 10, 2, 0, 3, None, 4))
    return board, console


def test_the_dashboard_draws_an_epoch_end_at_once_and_a_short_run_is_never_left_starting() -> None:
    from genesis_cli.engine.runs.reports import EpochReport
    from tests.conftest import strip_ansi

    board, console = _board()
    board.on_epoch(EpochReport(1, 5, 0.3, 0.27, "val_loss", True, 0.27, 1, 0, 3))  # no step report: a short run
    drawn = strip_ansi(console.export_text(clear=True))
    assert "epoch 1/2 · step 5/10" in drawn and "starting…" not in drawn.split("Epoch 1 completed")[-1]
    board.on_end("completed")
    final = strip_ansi(console.export_text())
    assert "starting…" not in final and "973,048 params · 4 processes (cuda)" in final


def test_a_torchrun_launch_says_how_many_processes_took_part() -> None:
    from genesis_cli.cli.dashboard import PlainReporter
    from genesis_cli.engine.runs.reports import RunInfo

    console = Console(record=True, width=300)
    PlainReporter(console).on_start(RunInfo("t1", "c/t1", "cuda:0", "dit", 10, 16000, 2000, 5, 10, 2, 0, None, None, 4))
    assert "10 parameters on 4 processes (cuda);" in console.export_text()


def test_an_interrupted_dashboard_clears_its_panel() -> None:
    board, _ = _board()
    board.stop()  # Ctrl-C: no on_end
    assert board.live.transient and not board.live.is_started


def test_a_cancel_at_any_prompt_exits_130(cli: Cli, trained_run: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from genesis_cli.cli.app import app

    monkeypatch.setattr("genesis_cli.cli.prompts.interactive", lambda: True)
    monkeypatch.chdir(tmp_path)
    for run in ("a", "b"):
        import shutil

        shutil.copytree(trained_run, tmp_path / "checkpoints" / run)
    args = ["sample", "--checkpoint", "checkpoints/model_best.pt", "-n", "2", "-o", str(tmp_path / "g.h5")]
    chooser = CliRunner().invoke(app, args, input="3\n")  # a, b (most recent first), cancel
    assert chooser.exit_code == 130 and "3. cancel" in chooser.stdout
    ctrl_d = CliRunner().invoke(app, args, input="")  # end of input while asked: a cancel too
    assert ctrl_d.exit_code == 130 and "Cancelled." in ctrl_d.stderr
    assert not (tmp_path / "g.h5").exists()


def test_an_unknown_architecture_is_named_as_one(cli: Cli) -> None:
    result = cli("train", "--arch", "transformer", "--data-path", "x.h5")
    assert result.exit_code == 2
    assert _errors(result) == ["Error: --arch transformer: unknown architecture; choose dit, cnn, mlp, hybrid or resnet"]


def test_with_debug_the_error_line_comes_before_the_traceback(cli: Cli, tmp_path: Path) -> None:
    result = cli("--debug", "inspect-data", str(tmp_path / "missing.h5"))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == f"Error: {tmp_path / 'missing.h5'}: file not found"
    assert any(line.startswith("Traceback") for line in lines[1:])


def test_help_has_no_bool_placeholder_and_piped_help_is_not_cut_at_80_columns(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    result = subprocess.run([sys.executable, "-m", "genesis_cli", "train", "--help"], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0
    assert "<bool>" not in result.stdout
    assert "--resume-from-checkpoint" in result.stdout and "--experiment-name" in result.stdout


# -- items 3 and 8: the compare figure -------------------------------------------------------------------
def _results(train: tuple[float, ...], frechet: tuple[float, ...]):  # type: ignore[no-untyped-def]
    from genesis_cli.engine.comparison import ArchitectureResult

    return [ArchitectureResult(name, "r", 10**6, 1.0, speed, 40.0 + 10 * i, 1.245, 0.1, 0.9 + 0.02 * i, 0.8, distance,
                               "s", "existing run", 500, 0.012, 0.014, 3.5)
            for i, (name, speed, distance) in enumerate(zip(("dit", "cnn", "hybrid"), train, frechet))]


def _drawn(results, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from genesis_cli.engine import comparison

    figures: list = []  # type: ignore[type-arg]
    monkeypatch.setattr(comparison, "save_figure", lambda fig, out, dpi: figures.append(fig) or out)
    comparison.plot_tradeoff(results, tmp_path / "comparison.png")
    figures[0].canvas.draw()
    return figures[0].axes


def test_the_compare_figure_has_readable_ticks_and_no_empty_panel(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    nan = float("nan")
    left, right = _drawn(_results((nan, nan, nan), (288.6, 288.8, 289.1)), tmp_path, monkeypatch)
    assert left.texts[0].get_text().startswith("training speed not measured: dit, cnn, hybrid")
    assert not left.get_xticks().size  # no -0.06..0.06 axis of nothing
    for labels in ([t.get_text() for t in right.get_yticklabels()], [t.get_text() for t in right.get_xticklabels()]):
        shown = [label for label in labels if label]
        assert len(shown) > 1 and len(set(shown)) == len(shown)  # not "288.8" at every tick


def test_the_compare_figure_shows_the_judges_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    left, right = _drawn(_results((120.0, 900.0, 4000.0), (12.0, 40.0, 160.0)), tmp_path, monkeypatch)
    bars = [c for c in left.containers if c.has_yerr]
    assert len(bars) == 3  # each AUC with its standard error
    assert left.get_xscale() == "log" and right.get_yscale() == "log"
    assert "simulation vs simulation" in [t.get_text() for t in right.get_legend().get_texts()]


def test_each_architectures_sampling_starts_a_new_memory_peak(trained_run: Path, toy_file: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from genesis_cli.engine import workflows
    from genesis_cli.engine.data.subset import write_subset

    labels = write_subset(toy_file, np.arange(6), tmp_path / "few.h5")
    resets: list[str] = []
    monkeypatch.setattr(workflows, "reset_peak_memory", lambda device: resets.append(str(device)) or True)
    for name in ("a", "b"):
        workflows.sample_heldout(trained_run, labels, tmp_path / f"{name}.h5", seed=1)
    assert resets == ["cpu", "cpu"]  # the peak of each sampling, not the first one's for every architecture


# -- item 4: the judge refuses what cannot be judged -----------------------------------------------------
def test_a_file_judged_against_itself_is_refused(cli: Cli, toy_file: Path) -> None:
    result = cli("evaluate", "--real-data", str(toy_file), "--generated-data", str(toy_file))
    assert result.exit_code == 2
    assert _errors(result) == [f"Error: --real-data and --generated-data are the same file ({toy_file}): a file "
                               "judged against itself says nothing"]


def test_swapped_real_and_generated_files_are_refused(cli: Cli, trained_run: Path, toy_file: Path,
                                                      tmp_path: Path) -> None:
    generated = tmp_path / "gen.h5"
    assert cli("sample", "--checkpoint", str(trained_run), "-n", "4", "-o", str(generated), "--steps", "2").exit_code == 0
    result = cli("evaluate", "--real-data", str(generated), "--generated-data", str(toy_file))
    assert result.exit_code == 2
    assert _errors(result) == [f"Error: --real-data {generated}: was written by `genesis sample` (its provenance): "
                               "the judge needs simulation on the real side"]
    assert "Hint: swap the files" in result.stderr


# -- item 7: the evaluation's figures for a talk ---------------------------------------------------------
def test_evaluate_writes_a_summary_slide_and_a_folder_of_figures(cli: Cli, toy_file: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.h5"  # a copy: judged (memorised), and enough for every figure
    copy.write_bytes(toy_file.read_bytes())
    summary, folder = tmp_path / "summary.png", tmp_path / "figures"
    result = cli("evaluate", "--real-data", str(toy_file), "--generated-data", str(copy), "-o", str(summary),
                 "--figures", str(folder))
    assert result.exit_code == 0, result.output
    assert summary.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    names = {p.name for p in folder.iterdir()}
    for stem in ("summary", "string_hit_rate", "n_hit", "onset_time", "hit_npe", "linefit_angle"):
        assert {f"{stem}.png", f"{stem}.pdf"} <= names
    assert (folder / "n_hit.pdf").read_bytes()[:4] == b"%PDF"
    assert not any(name.startswith(".") for name in names) and not list(tmp_path.glob(".figures*"))
    again = cli("evaluate", "--real-data", str(toy_file), "--generated-data", str(copy), "--figures", str(folder))
    assert again.exit_code == 2 and f"{folder}: already exists" in again.stderr  # a folder too needs --overwrite


def test_a_ratio_beyond_the_axis_is_an_arrow_with_its_value(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from genesis_cli.engine.evaluation.plots import ObservablePanel, draw_panel

    rng = np.random.default_rng(0)
    real, generated = rng.normal(0, 1, 4000), np.concatenate([rng.normal(0, 1, 3000), rng.normal(2.5, 0.1, 1000)])
    fig, (top, bottom) = plt.subplots(2, 1)
    draw_panel(top, bottom, ObservablePanel("x", "x", "m", real, generated, "events"), legend=False)
    arrows = [child for child in bottom.get_children() if type(child).__name__ == "Annotation"]
    assert arrows and all(a.xy[1] == 2.0 for a in arrows)  # drawn at the axis' top edge
    assert any(float(t.get_text()) > 2 for t in bottom.texts if t.get_text())  # the value beside it
    plt.close(fig)


def test_a_distance_without_a_real_vs_real_reference_is_not_judged() -> None:
    from genesis_cli.engine.evaluation.verdicts import UNKNOWN, verdict

    assert verdict("binned_w1", 0.2, float("nan")) == UNKNOWN  # was judged against the bare floor: poor
    assert verdict("binned_w1", 0.2, 0.01) == "poor"


def test_the_perfect_generator_passes_at_200_events(cli: Cli, tmp_path: Path) -> None:
    """At 200 v 200 the real-vs-real draws (100 v 100) fill no energy or zenith bin with 50 events, so the
    worst-bin checks had no reference and were judged against their floor: a perfect generator failed."""
    from genesis_cli.engine.evaluation.report import evaluate_files

    real, perfect = tmp_path / "real.h5", tmp_path / "perfect.h5"
    assert cli("simulate", str(real), "--events", "200", "--seed", "11").exit_code == 0
    assert cli("simulate", str(perfect), "--labels-from", str(real), "--seed", "111").exit_code == 0
    report = evaluate_files(real, perfect)
    assert report.overall.verdict == "PASS", report.overall.line


def test_a_value_that_rounds_to_zero_never_reads_minus_zero() -> None:
    from genesis_cli.cli.evaluate import _fmt

    assert _fmt(-0.0000004) == "0.000" and _fmt(-0.0004, 2) == "0.00" and _fmt(-0.25) == "-0.250"
    assert _fmt(float("nan")) == "-"
