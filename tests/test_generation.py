"""Sampling, evaluation, comparison and the demo."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from genesis_cli.engine.data.eventfile import EventFile
from genesis_cli.engine.evaluation import metrics
from genesis_cli.engine.evaluation.report import evaluate_files
from genesis_cli.engine.training import session
from genesis_cli.engine.training.trainer import Trainer
from genesis_cli.settings import resolve_config
from tests.conftest import CliResult

Cli = Callable[..., CliResult]


@pytest.fixture(scope="module")
def trained_run(toy_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model trained for a few steps on the toy file."""
    base = tmp_path_factory.mktemp("run")
    config = resolve_config("debug", overrides=[
        f"data.h5_path={toy_file}", "experiment_name=g", f"checkpoint_dir={base / 'checkpoints'}",
        f"log_dir={base / 'logs'}", "training.batch_size=8", "training.num_epochs=1", "model.hidden=32",
        "model.heads=2", "model.depth=1", "diffusion.sampling_steps=4"]).config
    run_dir = session.prepare_new_run(config).run_dir
    Trainer(config, run_dir).fit()
    return run_dir


# --- metrics ---------------------------------------------------------------------------------------

def test_metric_golden_values() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 20000), rng.normal(0.5, 1, 20000)
    assert metrics.wasserstein1(a, b) == pytest.approx(0.5, abs=0.03)  # W1 of a shift is the shift
    assert metrics.separation_power(a, a) == 0.0
    assert metrics.separation_power(a, a + 100) == pytest.approx(1.0, abs=1e-6)
    assert metrics.roc_auc(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])) == 1.0
    assert metrics.roc_auc(np.array([0.5, 0.5]), np.array([0, 1])) == 0.5
    x = rng.normal(0, 1, (5000, 3))
    assert metrics.frechet_distance(x, x + np.array([1.0, 0, 0])) == pytest.approx(1.0, abs=0.05)


def test_evaluate_real_vs_real_is_indistinguishable_and_shuffled_doms_are_not(toy_file: Path, tmp_path: Path) -> None:
    """Two halves of one simulation give AUC ~ 0.5; the same events with DOMs shuffled give ~ 1."""
    with h5py.File(toy_file) as source:
        data = {k: source[k][:] for k in ("input", "label", "xpmt", "ypmt", "zpmt")}
    rng = np.random.default_rng(0)
    order = rng.permutation(len(data["label"]))
    for name, rows in (("a.h5", order[:200]), ("b.h5", order[200:])):
        with h5py.File(tmp_path / name, "w") as out:
            out["input"], out["label"] = data["input"][rows], data["label"][rows]
            for k in ("xpmt", "ypmt", "zpmt"):
                out[k] = data[k]
    with h5py.File(tmp_path / "shuffled.h5", "w") as out:  # every event of the file, DOMs shuffled
        scrambled = data["input"].copy()
        for event in scrambled:
            event[:] = event[:, rng.permutation(event.shape[1])]
        out["input"], out["label"] = scrambled, data["label"]
        for k in ("xpmt", "ypmt", "zpmt"):
            out[k] = data[k]
    same = {r.metric: r.value for r in evaluate_files(tmp_path / "a.h5", tmp_path / "b.h5").summary}
    shuffled = {r.metric: r.value for r in evaluate_files(toy_file, tmp_path / "shuffled.h5").summary}
    assert abs(same["classifier AUC, high-level"] - 0.5) < 0.15
    assert shuffled["classifier AUC, high-level"] > 0.9
    assert shuffled["Frechet distance, high-level"] > 5 * same["Frechet distance, high-level"]


def test_evaluate_self_has_conditional_fidelity(toy_file: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.h5"
    copy.write_bytes(toy_file.read_bytes())
    report = evaluate_files(toy_file, copy)
    assert report.conditional is not None
    assert report.conditional["charge_correlation"] == pytest.approx(1.0)
    assert report.physics_real.median_cog_to_vertex_m < 60


# --- sampling -----------------------------------------------------------------------------------------

def test_sample_writes_a_valid_file_that_round_trips(cli: Cli, trained_run: Path, toy_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "gen.h5"
    result = cli("sample", "--checkpoint", str(trained_run), "--labels-from", str(toy_file), "--num-events", "24",
                 "--output", str(out), "--sampler", "ddim", "--steps", "3", "--batch-size", "10", "--seed", "5")
    assert result.exit_code == 0, result.output
    with h5py.File(toy_file, locking=False) as source:
        real_labels = source["label"][:24]
    with EventFile(out) as events:
        assert (events.n_events, events.n_doms) == (24, 5160)
        signals = events.signals(0, 24)
        assert (signals[:, 0] >= 0).all() and np.isfinite(signals[:, 0]).all()
        assert np.isinf(signals[:, 1][signals[:, 0] == 0]).all()  # the training file's no-hit convention
        assert np.allclose(events.labels(), real_labels, rtol=1e-6)
        attrs = events.attributes()
        assert (attrs["sampler"], attrs["steps"], attrs["seed"]) == ("ddim", 3, 5)
        assert attrs["interrupted"] == 0 or attrs["interrupted"] is False
    assert cli("inspect-data", str(out)).exit_code in (0, 2)  # readable; a rough model may not be "ready"
    evaluated = cli("evaluate", "--real-data", str(toy_file), "--generated-data", str(out), "--json", str(tmp_path / "m.json"))
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["n_generated"] == 24 and report["verdict"] == "TOO FEW EVENTS"
    assert f"{toy_file}: the model that generated {out} was trained on this file" in evaluated.output  # its provenance


def test_sample_from_ranges_is_reproducible(cli: Cli, trained_run: Path, tmp_path: Path) -> None:
    args = ["sample", "--checkpoint", str(trained_run / "model_best.pt"), "--num-events", "6", "--energy", "1e4:1e5",
            "--zenith", "1.5", "--x", "-100:100", "--steps", "2"]
    assert cli(*args, "--output", str(tmp_path / "a.h5")).exit_code == 0
    assert cli(*args, "--output", str(tmp_path / "b.h5")).exit_code == 0
    with h5py.File(tmp_path / "a.h5") as a, h5py.File(tmp_path / "b.h5") as b:
        assert np.array_equal(a["input"][:], b["input"][:])
        labels = a["label"][:]
    assert (labels[:, 0] >= 1e4 * 0.999).all() and (labels[:, 0] <= 1e5 * 1.001).all()
    assert np.allclose(labels[:, 1], 1.5) and (np.abs(labels[:, 3]) <= 100.01).all()


@pytest.mark.parametrize("args,message", [
    (["--energy", "5:1"], "the lower end exceeds the upper end"),
    (["--energy", "abc"], "expected a number or LO:HI"),
    ([], "--num-events is required without --labels-from"),
    (["--sampler", "euler"], "--sampler: diffusion.sampler: unknown sampler 'euler'; choose ddpm, ddim, dpm-solver, dpm-solver-sde or consistency"),
    (["--steps", "0"], "--steps: diffusion.sampling_steps: input should be greater than 0 (got 0)"),
    (["--batch-size", "0"], "--batch-size: sampling.batch_size: input should be greater than 0 (got 0)"),
    (["--guidance-scale", "nan"], "--guidance-scale: diffusion.guidance_scale: input should be a finite number"),
    (["--guidance-scale", "-1"], "--guidance-scale: diffusion.guidance_scale: input should be greater than or equal to 0"),
    (["--seed", "1" * 25], "Invalid value for '--seed'"),
])
def test_sample_rejects_bad_requests(cli: Cli, trained_run: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = cli("sample", "--checkpoint", str(trained_run), "--output", str(tmp_path / "x.h5"),
                 *(["--num-events", "3"] if args else []), *args)
    assert result.exit_code == 2 and message in result.stderr


def test_interrupted_sampling_leaves_a_readable_file(trained_run: Path, toy_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "partial.h5"
    process = subprocess.Popen([sys.executable, "-m", "genesis_cli", "sample", "--checkpoint", str(trained_run),
                                "--num-events", "100000", "--batch-size", "4", "--steps", "2", "--output", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial = out.with_name(out.name + ".partial")
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            if partial.exists():
                try:
                    with h5py.File(partial, "r", swmr=True, locking=False) as handle:
                        if handle["input"].shape[0] >= 8:
                            break
                except OSError:  # created, but the writer has not switched to SWMR mode yet
                    pass
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()  # never leave a sampler running, whatever failed above
        process.wait()
    assert process.returncode == 130, stderr
    assert "holds the" in stderr
    with EventFile(out) as events:
        assert 8 <= events.n_events < 100000
        assert bool(events.attributes()["interrupted"])


def test_compare_two_tiny_architectures(cli: Cli, toy_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    guide_run = tmp_path / "checkpoints" / "dit_experiment"  # the guide's run: used only with --reuse or no data
    guide_run.mkdir(parents=True)
    (guide_run / "model_best.pt").write_bytes(b"not used")
    result = cli("compare", "dit", "cnn", "--data-path", str(toy_file), "--budget", "6", "--events", "16",
                 "--set", "model.hidden=32", "--set", "model.depth=1", "--set", "model.heads=2",
                 "--set", "training.batch_size=8", "--set", "diffusion.sampling_steps=2")
    assert result.exit_code == 0, result.output
    assert "Architecture comparison" in result.stdout and "dit" in result.stdout and "cnn" in result.stdout
    rows = json.loads((tmp_path / "compare" / "comparison.json").read_text())
    assert [r["architecture"] for r in rows] == ["dit", "cnn"]
    assert [(r["source"], r["test_events"]) for r in rows] == [("trained for 6", 16)] * 2
    assert "Architecture comparison (dit, cnn trained for 6; 16 test events)" in " ".join(result.stdout.split())
    assert all(r["parameters"] > 0 and r["sampling_events_per_second"] > 0 for r in rows)
    assert (tmp_path / "compare" / "comparison.png").read_bytes()[:4] == b"\x89PNG"


def test_compare_needs_architectures(cli: Cli) -> None:
    assert cli("compare").exit_code == 2
    assert "unknown architecture(s) transformer" in cli("compare", "transformer").stderr


@pytest.mark.slow
def test_demo_runs_end_to_end(cli: Cli, tmp_path: Path) -> None:
    result = cli("demo", "--directory", str(tmp_path / "demo"), "--events", "400", "--test-events", "30")
    assert result.exit_code == 0, result.output
    assert "✓ done." in result.stdout
    for name in ("toy.h5", "generated.h5", "real_test.h5", "evaluation.png", "evaluation.json"):
        assert (tmp_path / "demo" / name).exists()
    assert (tmp_path / "demo" / "checkpoints" / "demo" / "model_best.pt").exists()



@pytest.mark.slow
def test_sampler_quality_benchmark_compares_each_sampler_with_ddpm(toy_file: Path, tmp_path: Path) -> None:
    """benchmarks/sampler_quality.py end to end, on a tiny model with a 100-step schedule (DDPM is the reference)."""
    config = resolve_config("debug", overrides=[
        f"data.h5_path={toy_file}", "experiment_name=q", f"checkpoint_dir={tmp_path / 'checkpoints'}",
        f"log_dir={tmp_path / 'logs'}", "training.batch_size=8", "training.num_epochs=1", "model.hidden=32",
        "model.heads=2", "model.depth=1", "diffusion.timesteps=100", "training.max_steps_per_epoch=5"]).config
    run_dir = session.prepare_new_run(config).run_dir
    Trainer(config, run_dir).fit()
    script = Path(__file__).parents[1] / "benchmarks" / "sampler_quality.py"
    done = subprocess.run([sys.executable, str(script), str(run_dir / "model_final.pt"), str(toy_file),
                           "--events", "100", "--out", str(tmp_path / "q"), "--device", "cpu", "--sampler", "ddim:4"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith(("| ddpm |", "| ddim |"))]
    assert rows[0].startswith("| ddpm | 100 |") and rows[1].startswith("| ddim | 4 |")
    assert "✓" in rows[1] or "✗" in rows[1]
    assert {p.name for p in (tmp_path / "q").glob("*.h5")} == {"ddpm_100.h5", "ddim_4.h5"}
