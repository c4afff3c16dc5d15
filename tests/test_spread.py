"""The event-to-event spread at fixed labels: the simulation against itself is 1, a too regular
generator is below 1, and the benchmark runs a trained run against the simulator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genesis_cli.engine.detector import icecube86_geometry
from genesis_cli.engine.evaluation.spread import SPREAD_OBSERVABLES, repeat_labels, spread_ratios
from genesis_cli.engine.simulation.simulator import EventSimulator
from genesis_cli.settings.simulation import SimulationConfig

LABELS = np.array([[5e4, 1.0, 2.0, 0.0, 0.0, -300.0], [2e5, 2.2, 4.0, 100.0, -50.0, -200.0],
                   [1e4, 0.4, 1.0, -80.0, 60.0, -400.0], [1e5, 1.6, 5.5, 30.0, 30.0, -100.0]])
DRAWS = 40


def _simulated(seed: int, **settings: object) -> np.ndarray:
    simulator = EventSimulator(icecube86_geometry(), SimulationConfig(events=1, seed=seed, **settings))
    rows = repeat_labels(LABELS, DRAWS)
    return np.concatenate([b.signals for b in simulator.batches_for(rows)])


def test_repeat_labels_keeps_each_labels_draws_together() -> None:
    rows = repeat_labels(LABELS, 3)
    assert rows.shape == (12, 6) and (rows[3:6] == LABELS[1]).all()


def test_the_simulation_against_itself_has_ratios_near_one() -> None:
    positions = icecube86_geometry().positions
    report = spread_ratios(_simulated(2), _simulated(3), repeat_labels(LABELS, DRAWS), positions, DRAWS)
    assert [r.name for r in report.ratios] == list(SPREAD_OBSERVABLES) and report.labels == 4
    for r in report.ratios:
        assert r.labels == 4 and abs(np.log(r.ratio)) < 4 * r.error / r.ratio + 0.15, r  # 1 within its errors


def test_a_generator_without_the_interactions_variety_is_too_narrow() -> None:
    """Tracks only where the simulation mixes tracks and cascades: the charge's and the CoG's spread at
    one label shrink (cascade or track is what the labels leave open), and the ratios say so."""
    positions = icecube86_geometry().positions
    narrow = _simulated(2, kind="cascade", noise=False)
    report = spread_ratios(narrow, _simulated(3), repeat_labels(LABELS, DRAWS), positions, DRAWS)
    ratios = {r.name: r for r in report.ratios}
    assert ratios["CoG"].ratio < 0.5 and ratios["total charge (log10)"].ratio < 0.8
    assert "CoG" in report.line() and report.to_dict()["draws"] == DRAWS


def test_spread_refuses_arrays_that_do_not_match() -> None:
    signals = _simulated(2)
    with pytest.raises(ValueError, match="spread needs"):
        spread_ratios(signals, signals[:-1], repeat_labels(LABELS, DRAWS), icecube86_geometry().positions, DRAWS)


@pytest.mark.slow
def test_the_spread_benchmark_compares_a_run_with_the_simulator(tmp_path: Path, toy_file: Path) -> None:
    from genesis_cli.engine import workflows
    from genesis_cli.engine.bench.spread import SpreadPlan, measure_spread
    from genesis_cli.engine.training import session
    from genesis_cli.settings import resolve_config

    config = resolve_config("debug", flags={"data.h5_path": str(toy_file), "checkpoint_dir": str(tmp_path),
                                            "training.max_steps": 2, "device": "cpu"}).config
    run = workflows.train(session.prepare_new_run(config)).run_dir
    result = measure_spread(SpreadPlan(run, toy_file, labels=3, draws=6, device="cpu", steps=2), say=lambda _: None)
    assert result.report.labels == 3 and result.report.draws == 6 and result.sampling.steps == 2
    assert len(result.report.ratios) == len(SPREAD_OBSERVABLES)
    raw = measure_spread(SpreadPlan(run, toy_file, labels=3, draws=6, device="cpu", steps=2, raw_weights=True,
                                    guidance_scale=2.0), say=lambda _: None)
    assert raw.sampling.guidance_scale == 2.0
