"""Issue 25 item 1 (first part): dark noise measured from a file as the detector makes it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genesis_cli.engine.data.eventfile import EventFile
from genesis_cli.engine.detector import icecube86_geometry
from genesis_cli.engine.detector.noise import MARGIN_NS, causal_bounds, estimate_noise
from genesis_cli.engine.simulation.runner import simulate_to_file
from genesis_cli.settings.simulation import SimulationConfig

STANDARD_HZ, HQE_HZ = 560.0, 780.0  # the simulator's defaults (shared/notes/physics.md)


@pytest.fixture(scope="module")
def noise_files(tmp_path_factory: pytest.TempPathFactory) -> dict[float, Path]:
    """The same 1,000 events with noise off, on and three times as loud."""
    folder = tmp_path_factory.mktemp("noise")
    files = {}
    for scale in (0.0, 1.0, 3.0):
        config = SimulationConfig(events=1000, seed=3, noise=scale > 0, noise_rate_hz=STANDARD_HZ * max(scale, 1.0),
                                  hqe_noise_rate_hz=HQE_HZ * max(scale, 1.0))
        files[scale] = simulate_to_file(folder / f"noise_{scale:g}.h5", config, icecube86_geometry()).path
    return files


@pytest.mark.parametrize("scale", [1.0, 3.0])
def test_the_measured_rates_match_the_simulated_ones_within_5_percent(noise_files: dict[float, Path],
                                                                       scale: float) -> None:
    with EventFile(noise_files[scale]) as events:
        estimate = estimate_noise(events)
    assert estimate is not None and list(estimate.efficiencies) == [1.0, 1.35]
    truth = np.array([STANDARD_HZ, HQE_HZ]) * scale
    assert np.all(np.abs(estimate.rates_hz / truth - 1) < 0.05), estimate.describe()
    assert estimate.window_ns == pytest.approx((6000.0, 16000.0), abs=5.0)  # trigger 10 us, -4 .. +6 us
    assert estimate.hits_per_event == pytest.approx(float(estimate.per_dom_hz.sum()) * 1e-5, rel=1e-3)  # 10 us window


def test_a_file_without_noise_measures_almost_none(noise_files: dict[float, Path]) -> None:
    """Light never counts as noise: below 1% of the standard rate (it is 0.5% here)."""
    with EventFile(noise_files[0.0]) as events:
        estimate = estimate_noise(events)
    assert estimate is not None and (estimate.rates_hz < 0.01 * STANDARD_HZ).all(), estimate.describe()


def test_an_early_noise_hit_on_a_bright_dom_does_not_set_the_interaction_time() -> None:
    light = np.array([10_030.0, 10_050.0, 10_200.0, 10_400.0])

    def t0(times: np.ndarray) -> float:  # bright DOMs at the vertex (no travel time): the bound is t0 - margin
        signals = np.stack([np.full((1, len(times)), 5.0), times[None]], axis=1)
        return float(causal_bounds(signals, np.zeros((1, 6)), np.zeros((3, len(times))))[0, 0]) + MARGIN_NS

    assert t0(np.concatenate([[7_000.0], light])) == 10_030.0  # noise first on one bright DOM
    assert t0(np.array([10_030.0])) == 10_030.0  # a single bright DOM is all there is
    assert t0(np.array([7_000.0, 10_030.0])) == 7_000.0  # two: no way to tell, the earlier bounds
    assert np.isinf(causal_bounds(np.stack([np.full((1, 3), 1.0), np.full((1, 3), 9e3)], axis=1),
                                  np.zeros((1, 6)), np.zeros((3, 3)))).all()  # no bright hit: no bound


def test_events_without_bright_hits_give_no_estimate(tmp_path: Path) -> None:
    from tests.conftest import write_event_file

    signals = np.stack([np.where(np.eye(8, 12) > 0, 1.0, 0.0), np.where(np.eye(8, 12) > 0, 5000.0, np.inf)], axis=1)
    with EventFile(write_event_file(tmp_path / "faint.h5", input=signals.astype(np.float32))) as events:
        assert estimate_noise(events) is None


def test_inspect_data_reports_the_dark_noise(cli, noise_files: dict[float, Path]) -> None:  # type: ignore[no-untyped-def]
    import json

    shown = cli("inspect-data", str(noise_files[1.0]))
    assert shown.exit_code == 0 and "dark noise" in shown.stdout and "(rde 1.35) per DOM" in shown.stdout
    report = json.loads(cli("inspect-data", str(noise_files[3.0]), "--json").stdout)["dark_noise"]
    assert abs(report["rates_hz"]["1"] / (3 * STANDARD_HZ) - 1) < 0.05 and report["events_used"] > 900


# -- data.dark_noise: measured: learn the light only, add the noise as measured --------------------------
def _early_times(signals: np.ndarray, labels: np.ndarray, positions: np.ndarray) -> np.ndarray:
    from genesis_cli.engine.detector.dark_noise import causal_bounds

    bound = causal_bounds(signals, labels, positions)
    early = (signals[:, 0] > 0) & (signals[:, 1] < bound) & np.isfinite(bound)
    return np.sort(signals[:, 1][early])


def test_light_only_targets_keep_no_hit_before_any_light(noise_files: dict[float, Path]) -> None:
    from genesis_cli.engine.detector.dark_noise import light_only

    with EventFile(noise_files[1.0]) as events:
        signals, labels, geometry = events.signals(0, events.n_events), events.labels(), events.geometry
    clean = light_only(signals, labels, geometry.positions)
    before = len(_early_times(signals, labels, geometry.positions))
    assert before > 10_000  # ~17,000 noise hits before the light
    # none left before the bounds they were cleaned by; measured again, a bright DOM whose first hit was noise
    # (its light went with it) moves a few events' bounds: 10 of 17,000 hits
    assert len(_early_times(clean, labels, geometry.positions)) < 0.001 * before
    kept = clean[:, 0] > 0
    assert np.array_equal(clean[:, 1][kept], signals[:, 1][kept])  # every later hit untouched
    assert kept.sum() > 0.9 * (signals[:, 0] > 0).sum()


def test_added_noise_has_the_measured_rates_and_the_simulated_times(noise_files: dict[float, Path]) -> None:
    """Noise added to noise-free events as measured from the noisy ones: the same rates (within 5%) and the
    same time distribution before the light (largest CDF difference below 0.03, about 17,000 hits each)."""
    from genesis_cli.engine.detector.dark_noise import DarkNoise
    from genesis_cli.engine.detector.noise import NoiseAccumulator

    with EventFile(noise_files[1.0]) as noisy, EventFile(noise_files[0.0]) as quiet:
        geometry = noisy.geometry
        accumulator = NoiseAccumulator(geometry)
        accumulator.add(noisy.signals(0, noisy.n_events), noisy.labels())
        measured = accumulator.result()
        noise = DarkNoise.from_state_dict(DarkNoise.measured(measured, accumulator.noise_charges()).state_dict())
        simulated, simulated_labels = noisy.signals(0, noisy.n_events), noisy.labels()
        added = noise.add(quiet.signals(0, quiet.n_events), quiet.labels(), geometry.positions, np.random.default_rng(1))
        labels = quiet.labels()
    again = NoiseAccumulator(geometry)
    again.add(added, labels)
    assert np.all(np.abs(again.result().rates_hz / measured.rates_hz - 1) < 0.05)
    want, got = _early_times(simulated, simulated_labels, geometry.positions), _early_times(added, labels, geometry.positions)
    grid = np.linspace(6000, 16000, 201)
    assert np.abs(np.searchsorted(want, grid) / len(want) - np.searchsorted(got, grid) / len(got)).max() < 0.03
    from genesis_cli.engine.detector.dark_noise import causal_bounds

    bound = causal_bounds(added, labels, geometry.positions)
    early = (added[:, 0] > 0) & (added[:, 1] < bound)
    assert 0.9 < np.median(added[:, 0][early]) < 1.1  # one-photoelectron charges, as the simulation's noise
    assert (noise.charges < 2.5).all()


def test_a_run_with_measured_noise_stores_it_and_adds_it_when_sampling(cli, noise_files: dict[float, Path],  # type: ignore[no-untyped-def]
                                                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import h5py

    from genesis_cli.engine.runs.checkpoint import load_checkpoint

    monkeypatch.chdir(tmp_path)
    trained = cli("train", "--config", "debug", "--data-path", str(noise_files[1.0]), "--max-steps", "2",
                  "--set", "data.dark_noise=measured", "--experiment-name", "dn")
    assert trained.exit_code == 0, trained.output
    saved = load_checkpoint(next((tmp_path / "checkpoints" / "dn").glob("*.pt")), map_location="cpu")
    noise = saved.measured_noise()
    assert noise is not None and abs(np.median(noise.rates_hz) / STANDARD_HZ - 1) < 0.1
    import genesis_cli.engine.data.loader as loader

    def no_second_measurement(*args: object, **kwargs: object) -> None:
        raise AssertionError("a resumed run measured its noise again")

    monkeypatch.setattr(loader, "NoiseAccumulator", no_second_measurement)
    resumed = cli("resume", "checkpoints/dn", "--max-steps", "4")
    assert resumed.exit_code == 0, resumed.output
    again = load_checkpoint(tmp_path / "checkpoints" / "dn" / "model_final.pt", map_location="cpu")
    assert again.global_step == 4 and again.measured_noise() is not None  # a resumed run keeps its noise
    assert np.array_equal(again.measured_noise().rates_hz, noise.rates_hz)  # restored, not measured again
    sampled = cli("sample", "--checkpoint", "checkpoints/dn", "--labels-from", str(noise_files[1.0]), "--num-events", "8",
                  "--output", "gen.h5", "--seed", "3")
    assert sampled.exit_code == 0, sampled.output
    with h5py.File(tmp_path / "gen.h5") as generated:
        assert "measured" in generated.attrs["dark_noise"]
