"""Normalisation round trips and deterministic, disjoint splits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from genesis_cli.engine.data.eventfile import EventFile
from genesis_cli.engine.data.loader import fit_normalizer
from genesis_cli.engine.data.normalization import MAX_NPE_FACTOR, Normalizer
from genesis_cli.engine.data.splits import make_split
from genesis_cli.settings import resolve_config

POSITIONS: dict[str, np.ndarray] = {}


def fitted(toy_file: Path, *overrides: str) -> tuple[Normalizer, np.ndarray, np.ndarray]:
    config = resolve_config(overrides=list(overrides)).config
    with EventFile(toy_file) as events:
        split = make_split(events.n_events, (0.8, 0.1, 0.1), config.seed)
        normalizer = fit_normalizer(events, split, config)
        POSITIONS["toy"] = events.geometry.positions
        return normalizer, events.signals(0, 64), events.labels(0, 64)


def forward(normalizer: Normalizer, raw: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return normalizer.signals(raw, labels, POSITIONS["toy"])


def back_again(normalizer: Normalizer, raw: np.ndarray, labels: np.ndarray, **kwargs: float) -> np.ndarray:
    return normalizer.inverse_signals(forward(normalizer, raw, labels), labels, POSITIONS["toy"], **kwargs)


@pytest.mark.parametrize("origin", ["vertex", "file"])
def test_signal_round_trip_is_exact(toy_file: Path, origin: str) -> None:
    normalizer, raw, labels = fitted(toy_file, f"data.time_origin={origin}")
    back = back_again(normalizer, raw, labels)
    hit = raw[:, 0] > 0
    assert np.array_equal(back[:, 0] > 0, hit)
    np.testing.assert_allclose(back[:, 0][hit], raw[:, 0][hit], rtol=1e-5)
    np.testing.assert_allclose(back[:, 1][hit], raw[:, 1][hit], rtol=1e-6)
    assert np.isinf(back[:, 1][~hit]).all()  # the raw file's no-hit convention (inf) restored


def test_no_hit_doms_are_zero_and_hits_are_unit_scale(toy_file: Path) -> None:
    normalizer, raw, labels = fitted(toy_file)
    x = forward(normalizer, raw, labels)
    hit = raw[:, 0] > 0
    assert x.shape == (64, 3, raw.shape[2])
    assert (x[:, :2, ~hit.any(axis=0)] == 0).all()
    assert (x[:, 0][~hit] == 0).all() and (x[:, 1][~hit] == 0).all()
    assert (x[:, 2][hit] == 1).all() and (x[:, 2][~hit] == -1).all()  # the hit channel
    assert abs(x[:, 0][hit].mean()) < 0.3 and 0.5 < x[:, 0][hit].std() < 2  # standardised over hits
    assert abs(x[:, 1][hit].mean()) < 1 and 0.3 < x[:, 1][hit].std() < 3
    assert np.isfinite(x).all()


def test_file_convention_zero_time_is_restored(toy_file: Path) -> None:
    normalizer, raw, labels = fitted(toy_file)
    convention = Normalizer(**{**normalizer.state_dict(), "no_hit_time": 0.0})
    back = back_again(convention, raw, labels)
    assert (back[:, 1][raw[:, 0] == 0] == 0).all()


def test_hits_generated_outside_the_readout_window_are_not_recorded(toy_file: Path) -> None:
    """The detector records nothing outside its readout window: a generated hit whose time falls
    outside the training hits' time range becomes an empty DOM, not a hit piled on the window's edge."""
    normalizer, raw, labels = fitted(toy_file)
    hit = raw[:, 0] > 0
    assert normalizer.time_min_ns <= raw[:, 1][hit].min() and raw[:, 1][hit].max() <= normalizer.time_max_ns
    x = forward(normalizer, raw, labels)
    event, dom = np.argwhere(hit)[0]
    x[event, 1, dom] = normalizer.time_high + 0.9  # within the transform's bounds, beyond the window
    back = normalizer.inverse_signals(x, labels, POSITIONS["toy"])
    assert back[event, 0, dom] == 0 and np.isinf(back[event, 1, dom])
    others = hit.copy()
    others[event, dom] = False
    np.testing.assert_allclose(back[:, 1][others], raw[:, 1][others], rtol=1e-5)


def test_aligned_times_round_trip_relative_to_first_hit(toy_file: Path) -> None:
    normalizer, raw, labels = fitted(toy_file, "data.align_time=true")
    assert normalizer.time_origin == "first_hit"
    back = back_again(normalizer, raw, labels)
    hit = raw[:, 0] > 0
    first = np.where(hit, raw[:, 1], np.inf).min(axis=1, keepdims=True)
    expected = (raw[:, 1] - first)[hit]
    np.testing.assert_allclose(back[:, 1][hit], expected, atol=1e-3, rtol=1e-5)
    assert np.allclose(np.where(hit, back[:, 1], np.inf).min(axis=1), 0.0, atol=1e-3)


def test_label_round_trip_is_exact(toy_file: Path) -> None:
    normalizer, _, labels = fitted(toy_file)
    np.testing.assert_allclose(normalizer.inverse_labels(normalizer.labels(labels)), labels, rtol=1e-6, atol=1e-4)
    scaled = normalizer.labels(labels)
    assert (np.abs(scaled[:, 1:3]) <= 1).all()  # angles in [-1, 1]
    assert (np.abs(scaled[:, 3:6]) <= 1.1).all()  # positions within the detector's half size


def test_hit_threshold_decides_hits_without_the_hit_channel(toy_file: Path) -> None:
    normalizer, raw, labels = fitted(toy_file, "diffusion.hit_channel=false")
    assert forward(normalizer, raw, labels).shape[1] == 2
    back = back_again(normalizer, raw, labels, hit_threshold=1.0)
    assert (back[:, 0][(raw[:, 0] > 0) & (raw[:, 0] <= 0.999)] == 0).all()


def test_the_hit_channel_decides_hits_and_keeps_charges_physical(toy_file: Path) -> None:
    normalizer, raw, labels = fitted(toy_file)
    x = forward(normalizer, raw, labels)
    x[:, 0] = -5.0  # a model's npe output far below any charge...
    back = normalizer.inverse_signals(x, labels, POSITIONS["toy"])
    hit = raw[:, 0] > 0
    assert np.array_equal(back[:, 0] > 0, hit)  # ...changes nothing about which DOMs are hit
    assert (back[:, 0][hit] == np.float32(normalizer.min_npe)).all()  # and a hit is never dimmer than any real one


def test_vertex_origin_takes_the_light_travel_time_out_of_hit_times(toy_file: Path) -> None:
    """The toy interaction happens 10 us into the readout. Measured from the labelled vertex's direct
    light, a bright (signal) hit's normalised time no longer grows with its distance from the vertex,
    while from the file's earliest hit it does. (A near-linear scale, so that the correlation measures the
    origin; at the default 30 ns the logarithm stretches the scattering delays, which do grow with distance.)"""
    from genesis_cli.engine.detector.propagation import vertex_distance

    correlations = {}
    for origin in ("vertex", "file"):
        normalizer, raw, labels = fitted(toy_file, f"data.time_origin={origin}", "data.time_scale_ns=3000")
        signal = raw[:, 0] > 3  # bright hits: light from the event, not dark noise
        distance = vertex_distance(labels.astype(np.float64), POSITIONS["toy"])
        correlations[origin] = np.corrcoef(forward(normalizer, raw, labels)[:, 1][signal], distance[signal])[0, 1]
    assert abs(correlations["vertex"]) < 0.3 < 0.5 < correlations["file"]


def test_the_vertex_time_origin_is_the_light_onset_the_judge_measures(toy_file: Path) -> None:
    """The toy interaction happens 10 us into the readout: the reference is the training events' median
    light onset (what `genesis evaluate` measures), not a time among the scattered light after it, so
    prompt light sits where the time transform resolves nanoseconds (u ~ 0)."""
    from genesis_cli.engine.detector.propagation import cascade_delay_ns, light_onset

    normalizer, raw, labels = fitted(toy_file, "data.time_scale_ns=30")
    hit = raw[:, 0] > 0
    onsets = light_onset(raw[:, 0], raw[:, 1] - cascade_delay_ns(labels.astype(np.float64), POSITIONS["toy"]), hit)
    assert abs(normalizer.time_reference - np.nanmedian(onsets)) < 5.0
    assert abs(normalizer.time_reference - 10_000.0) < 10.0
    # 10 ns of prompt light span a tenth of the hit times' standard deviation or more
    u = np.nanmedian(onsets) + np.array([0.0, 10.0]) - normalizer.time_reference
    tau = np.sign(u) * np.log1p(np.abs(u) / normalizer.time_scale)
    assert (tau[1] - tau[0]) / normalizer.time_std > 0.1


def test_the_light_onset_is_the_median_residual_of_the_three_brightest_doms() -> None:
    from genesis_cli.engine.detector.propagation import light_onset

    npe = np.array([[5.0, 0.0, 9.0, 1.0, 7.0], [0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0, 0.0]])
    residual = np.array([[30.0, -900.0, 10.0, 500.0, 20.0], [1.0] * 5, [0.0, 4.0, 0.0, 0.0, 0.0]])
    onset = light_onset(npe, residual, npe > 0)
    assert onset[0] == 20.0  # DOMs of 9, 7, 5 PE; the empty DOM's residual never counts
    assert np.isnan(onset[1])  # no hit, no onset
    assert onset[2] == 4.0  # fewer hits than three: the median of those there are


def test_states_before_the_hit_channel_read_as_their_representation(toy_file: Path) -> None:
    normalizer, raw, labels = fitted(toy_file, "diffusion.hit_channel=false", "data.time_origin=file",
                                     "data.time_scale_ns=1")
    old = {k: v for k, v in normalizer.state_dict().items()
           if k not in ("time_origin", "hit_channel", "min_npe", "npe_mean", "time_scale", "time_min_ns", "time_max_ns")}
    restored = Normalizer.from_state_dict({**old, "align_time": False})
    assert restored == Normalizer(**{**normalizer.state_dict(), "min_npe": normalizer.hit_threshold,
                                     "time_min_ns": -np.inf, "time_max_ns": np.inf})


def test_state_dict_is_plain_json_and_restores(toy_file: Path) -> None:
    normalizer, raw, labels = fitted(toy_file)
    state = json.loads(json.dumps(normalizer.state_dict()))
    restored = Normalizer.from_state_dict(state)
    assert np.array_equal(forward(restored, raw, labels), forward(normalizer, raw, labels))
    with pytest.raises(ValueError, match="lacks"):
        Normalizer.from_state_dict({"npe_scale": 1.0})


def test_quantile_map_sends_a_sample_to_a_standard_normal_and_back_within_its_range() -> None:
    from genesis_cli.engine.data.quantile_map import QuantileMap

    sample = np.log1p(np.random.default_rng(0).gamma(1.5, 3.0, size=50_000))
    qmap = QuantileMap.fit(sample)
    z = qmap.forward(sample)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    np.testing.assert_allclose(qmap.inverse(z), sample, atol=1e-12)  # exact inside the range
    assert qmap.inverse(np.array([-50.0]))[0] == sample.min() and qmap.inverse(np.array([50.0]))[0] == sample.max()


def test_quantile_map_puts_a_discrete_value_at_the_middle_of_its_step() -> None:
    from statistics import NormalDist

    from genesis_cli.engine.data.quantile_map import QuantileMap

    counts = np.repeat([1.0, 2.0, 3.0, 4.0], 2500)  # integer charges, a quarter each
    qmap = QuantileMap.fit(counts)
    expected = [NormalDist().inv_cdf(p) for p in (0.125, 0.375, 0.625, 0.875)]
    np.testing.assert_allclose(qmap.forward(np.array([1.0, 2.0, 3.0, 4.0])), expected, atol=1e-3)
    np.testing.assert_allclose(qmap.inverse(np.array(expected)), [1.0, 2.0, 3.0, 4.0], atol=1e-3)


def test_the_quantile_map_floor_keeps_resolution_where_the_sample_is_sparse() -> None:
    """Between the noise and the prompt light few hits lie: the hits' quantiles alone map that gap to
    almost one score, and the floor's share of a reference transform keeps it resolved."""
    from genesis_cli.engine.data.quantile_map import Floor, QuantileMap

    rng = np.random.default_rng(1)
    sample = np.concatenate([rng.normal(-1000, 100, 20_000), rng.normal(1000, 100, 20_000)])
    gap = np.array([-20.0, 20.0])
    alone = np.diff(QuantileMap.fit(sample).forward(gap))[0]
    floored_map = QuantileMap.fit(sample, floor=Floor(lambda u: u / 1000, lambda z: z * 1000, 0.5))
    floored = np.diff(floored_map.forward(gap))[0]
    assert alone < 1e-3 < 0.01 < floored  # the reference's own slope over the gap is 0.04
    np.testing.assert_allclose(floored_map.inverse(floored_map.forward(sample)), sample, atol=1e-9)


@pytest.mark.parametrize("overrides", [("data.npe_transform=quantile",),
                                       ("data.npe_transform=quantile", "data.time_transform=quantile")])
def test_quantile_transforms_make_hits_standard_normal_and_round_trip(toy_file: Path, overrides: tuple[str, ...]) -> None:
    """The charges' (and times') quantile transform: hits standard normal over the training sample, the
    round trip exact, and generated charges never beyond the training range (the saturated DOMs)."""
    normalizer, raw, labels = fitted(toy_file, *overrides)
    back = back_again(normalizer, raw, labels)
    hit = raw[:, 0] > 0
    assert np.array_equal(back[:, 0] > 0, hit)
    np.testing.assert_allclose(back[:, 0][hit], raw[:, 0][hit], rtol=1e-5)
    np.testing.assert_allclose(back[:, 1][hit], raw[:, 1][hit], rtol=1e-6)
    x = forward(normalizer, raw, labels)
    assert abs(x[:, 0][hit].mean()) < 0.3 and 0.7 < x[:, 0][hit].std() < 1.3
    x[:, 0][hit] = 40.0  # far beyond any training charge's score
    brightest = normalizer.inverse_signals(x, labels, POSITIONS["toy"])[:, 0][hit]
    assert np.allclose(brightest, np.expm1(normalizer.npe_map.values[-1]), rtol=1e-6)
    assert brightest.max() <= normalizer.max_npe / MAX_NPE_FACTOR * (1 + 1e-6)  # the largest training charge
    restored = Normalizer.from_state_dict(json.loads(json.dumps(normalizer.state_dict())))
    assert restored == normalizer


def test_quantile_charges_without_the_hit_channel_are_refused_naming_the_key() -> None:
    from genesis_cli.errors import ConfigError

    with pytest.raises(ConfigError, match=r"data\.npe_transform.*hit_channel"):
        resolve_config(overrides=["data.npe_transform=quantile", "diffusion.hit_channel=false"])


def test_normalizer_is_fitted_on_the_training_split_only(toy_file: Path, tmp_path: Path) -> None:
    """Changing validation and test events must not change the statistics."""
    import shutil

    import h5py

    config = resolve_config().config
    changed = tmp_path / "changed.h5"
    shutil.copy(toy_file, changed)
    with EventFile(toy_file) as events:
        split = make_split(events.n_events, (0.8, 0.1, 0.1), config.seed)
        original = fit_normalizer(events, split, config)
    with h5py.File(changed, "a") as handle:
        data = handle["input"][...]
        held_out = np.concatenate([split.val, split.test])
        data[held_out, 0] *= 50
        handle["input"][...] = data
        labels = handle["label"][...]
        labels[held_out, 0] *= 1000
        handle["label"][...] = labels
    with EventFile(changed) as events:
        assert fit_normalizer(events, split, config) == original


# --- splits ---------------------------------------------------------------------------------------

def test_split_is_deterministic_disjoint_and_complete() -> None:
    a = make_split(1000, (0.8, 0.1, 0.1), seed=3)
    b = make_split(1000, (0.8, 0.1, 0.1), seed=3)
    assert a.fingerprint() == b.fingerprint()
    assert (len(a.train), len(a.val), len(a.test)) == (800, 100, 100)
    union = np.concatenate([a.train, a.val, a.test])
    assert len(np.unique(union)) == 1000
    assert make_split(1000, (0.8, 0.1, 0.1), seed=4).fingerprint() != a.fingerprint()


def test_split_record_is_plain_data() -> None:
    record = make_split(10, (0.6, 0.2, 0.2), seed=1).record()
    assert json.loads(json.dumps(record)) == record
    assert record["sizes"] == {"train": 6, "val": 2, "test": 2}


def test_split_without_validation() -> None:
    split = make_split(10, (0.9, 0.0, 0.1), seed=0)
    assert len(split.val) == 0 and len(split.train) == 9


def test_split_needs_a_training_event() -> None:
    with pytest.raises(ValueError, match="leave none for training"):
        make_split(2, (0.1, 0.45, 0.45), seed=0)
