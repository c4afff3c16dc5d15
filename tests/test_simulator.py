"""Physics of the toy simulator: scale, linearity, geometry of light, timing, noise, determinism.

Thresholds were measured on the built-in detector and leave room for statistical scatter; the
measured values are in the comments.
"""

from __future__ import annotations

import numpy as np
import pytest

from genesis_cli.engine.detector import icecube86_geometry
from genesis_cli.engine.simulation.simulator import INFO_COLUMNS, EventSimulator
from genesis_cli.settings.simulation import SimulationConfig

GEOMETRY = icecube86_geometry()
POSITIONS = GEOMETRY.positions  # (3, L)


def simulate(n: int, *, fixed_energy: float | None = None, **settings: object):  # type: ignore[no-untyped-def]
    base = {"noise": False, "seed": 3, "vertex_radius_m": 300.0, "vertex_half_height_m": 300.0,
            "saturation_pe": 1e12}
    simulator = EventSimulator(GEOMETRY, SimulationConfig(**{**base, **settings}))
    labels, kinds = simulator.sample_labels(n)
    if fixed_energy is not None:
        labels[:, 0] = fixed_energy
    return simulator.simulate(labels, kinds)


def travel_direction(labels: np.ndarray) -> np.ndarray:
    zenith, azimuth = labels[:, 1], labels[:, 2]
    return -np.stack([np.sin(zenith) * np.cos(azimuth), np.sin(zenith) * np.sin(azimuth), np.cos(zenith)], axis=1)


def test_output_format() -> None:
    events = simulate(16, kind="mixed", noise=True)
    assert events.signals.shape == (16, 2, 5160) and events.signals.dtype == np.float32
    assert events.labels.shape == (16, 6) and events.info.shape == (16, len(INFO_COLUMNS))
    npe, time = events.signals[:, 0], events.signals[:, 1]
    assert (npe >= 0).all()
    assert np.isinf(time[npe == 0]).all() and np.isfinite(time[npe > 0]).all()
    assert set(np.unique(events.info[:, 0])) <= {0.0, 1.0}


def test_deterministic_by_seed() -> None:
    a, b, c = simulate(8, noise=True), simulate(8, noise=True), simulate(8, noise=True, seed=4)
    assert np.array_equal(a.signals, b.signals) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.signals, c.signals)


def test_contained_cascades_give_about_200_pe_per_tev() -> None:
    """IceCube: ~100-200 PE per TeV deposited; notes: median ~210 PE at 1 TeV (measured 173)."""
    events = simulate(300, kind="cascade", fixed_energy=1e3)
    assert 100 < np.median(events.signals[:, 0].sum(axis=1)) < 300


def test_total_charge_grows_linearly_with_energy() -> None:
    """Same events at 10x the energy carry 10x the charge (light yield proportional to E)."""
    low = simulate(200, kind="cascade", fixed_energy=1e3).signals[:, 0].sum()
    high = simulate(200, kind="cascade", fixed_energy=1e4).signals[:, 0].sum()
    assert 9.0 < high / low < 11.0


def test_saturation_caps_the_charge_of_one_dom() -> None:
    events = simulate(20, kind="cascade", fixed_energy=1e6, saturation_pe=3000.0)
    assert events.signals[:, 0].max() <= 3000.0


def test_charge_centre_of_gravity_tracks_the_cascade_vertex() -> None:
    events = simulate(200, kind="cascade", energy_min_gev=1e4, energy_max_gev=1e5)
    weights = events.signals[:, 0]
    lit = weights.sum(-1) > 0  # a cascade deep in the dust layer can light no DOM at all
    assert lit.mean() > 0.95
    cog = (weights[lit, None, :] * POSITIONS[None]).sum(-1) / weights[lit].sum(-1)[:, None]
    distance = np.linalg.norm(cog - events.labels[lit, 3:6], axis=1)
    assert np.median(distance) < 35.0  # measured 20 m (string spacing 125 m)


def test_earliest_hits_lie_near_the_vertex() -> None:
    events = simulate(200, kind="cascade", energy_min_gev=1e4, energy_max_gev=1e5)
    first = np.argmin(events.signals[:, 1], axis=1)
    distance = np.linalg.norm(POSITIONS[:, first].T - events.labels[:, 3:6], axis=1)
    assert np.median(distance) < 80.0  # measured 46 m; a random DOM is ~500 m away


def test_line_fit_recovers_bright_track_directions() -> None:
    """Charge-weighted least squares of DOM position against hit time (IceCube's LineFit)."""
    events = simulate(150, kind="track", energy_min_gev=1e5, energy_max_gev=1e6)
    travel = travel_direction(events.labels)
    angles = []
    for i in range(len(events.labels)):
        hit = events.signals[i, 0] > 0
        t, q, p = events.signals[i, 1][hit].astype(float), events.signals[i, 0][hit].astype(float), POSITIONS[:, hit]
        t_mean = (q * t).sum() / q.sum()
        p_mean = (p * q).sum(axis=1, keepdims=True) / q.sum()
        velocity = ((p - p_mean) * q * (t - t_mean)).sum(axis=1) / (q * (t - t_mean) ** 2).sum()
        cosine = velocity @ travel[i] / np.linalg.norm(velocity)
        angles.append(np.degrees(np.arccos(np.clip(cosine, -1, 1))))
    assert np.median(angles) < 7.0  # measured 4.7 degrees


def _elongation(events) -> float:  # type: ignore[no-untyped-def]
    """Median ratio of the charge-weighted spread of hits along the travel direction to across it."""
    travel = travel_direction(events.labels)
    ratios = []
    for i in range(len(events.labels)):
        q = events.signals[i, 0]
        hit = q > 0
        p, w = POSITIONS[:, hit], q[hit]
        centred = p - (p * w).sum(axis=1, keepdims=True) / w.sum()
        covariance = (centred * w) @ centred.T / w.sum()
        along = travel[i] @ covariance @ travel[i]
        ratios.append(along / ((np.trace(covariance) - along) / 2))
    return float(np.median(ratios))


def test_track_light_is_elongated_along_the_track_and_cascade_light_is_round() -> None:
    cascades = _elongation(simulate(80, kind="cascade", fixed_energy=1e5))
    tracks = _elongation(simulate(80, kind="track", fixed_energy=1e5))
    assert 0.5 < cascades < 2.0  # measured 0.96
    assert tracks > 4.0  # measured 8.6


def test_noise_hits_spread_uniformly_over_the_readout_window() -> None:
    simulator = EventSimulator(GEOMETRY, SimulationConfig(kind="cascade", seed=5))
    labels, kinds = simulator.sample_labels(300)
    labels[:, 0] = 1.0
    labels[:, 3:6] = [5000.0, 5000.0, 0.0]  # far outside: no signal light reaches the detector
    events = simulator.simulate(labels, kinds)
    times = events.signals[:, 1][np.isfinite(events.signals[:, 1])]
    start, stop = simulator.window
    assert 25 < times.size / 300 < 35  # ~560-780 Hz x 5160 DOMs x 10 us ~ 30
    assert times.min() >= start and times.max() <= stop
    assert abs(times.mean() - (start + stop) / 2) < 300
    assert abs(times.std() - (stop - start) / np.sqrt(12)) < 200
    assert (events.info[:, INFO_COLUMNS.index("signal_doms")] == 0).all()


@pytest.mark.parametrize("kind", ["cascade", "track"])
def test_kind_is_recorded(kind: str) -> None:
    events = simulate(4, kind=kind)
    assert (events.info[:, 0] == (kind == "track")).all()
