"""Normalisation round trips and deterministic, disjoint splits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from genesis_cli.engine.data.eventfile import EventFile
from genesis_cli.engine.data.loader import fit_normalizer
from genesis_cli.engine.data.normalization import Normalizer
from genesis_cli.engine.data.splits import make_split
from genesis_cli.settings import resolve_config


def fitted(toy_file: Path, *overrides: str) -> tuple[Normalizer, np.ndarray, np.ndarray]:
    config = resolve_config(overrides=list(overrides)).config
    with EventFile(toy_file) as events:
        split = make_split(events.n_events, (0.8, 0.1, 0.1), config.seed)
        normalizer = fit_normalizer(events, split, config)
        return normalizer, events.signals(0, 64), events.labels(0, 64)


def test_signal_round_trip_is_exact(toy_file: Path) -> None:
    normalizer, raw, _ = fitted(toy_file)
    back = normalizer.inverse_signals(normalizer.signals(raw))
    hit = raw[:, 0] > 0
    assert np.array_equal(back[:, 0] > 0, hit)
    np.testing.assert_allclose(back[:, 0][hit], raw[:, 0][hit], rtol=1e-5)
    np.testing.assert_allclose(back[:, 1][hit], raw[:, 1][hit], rtol=1e-6)
    assert np.isinf(back[:, 1][~hit]).all()  # the raw file's no-hit convention (inf) restored


def test_no_hit_doms_are_zero_and_hits_are_unit_scale(toy_file: Path) -> None:
    normalizer, raw, _ = fitted(toy_file)
    x = normalizer.signals(raw)
    hit = raw[:, 0] > 0
    assert (x[:, :, ~hit.any(axis=0)] == 0).all()
    assert (x[:, 0][~hit] == 0).all() and (x[:, 1][~hit] == 0).all()
    assert 0.3 < np.sqrt(np.mean(x[:, 0][hit] ** 2)) < 3
    assert abs(x[:, 1][hit].mean()) < 1 and 0.3 < x[:, 1][hit].std() < 3
    assert np.isfinite(x).all()


def test_file_convention_zero_time_is_restored(toy_file: Path) -> None:
    normalizer, raw, _ = fitted(toy_file)
    convention = Normalizer(**{**normalizer.state_dict(), "no_hit_time": 0.0})
    back = convention.inverse_signals(convention.signals(raw))
    assert (back[:, 1][raw[:, 0] == 0] == 0).all()


def test_aligned_times_round_trip_relative_to_first_hit(toy_file: Path) -> None:
    normalizer, raw, _ = fitted(toy_file, "data.align_time=true")
    back = normalizer.inverse_signals(normalizer.signals(raw))
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


def test_hit_threshold_decides_hits_on_inverse(toy_file: Path) -> None:
    normalizer, raw, _ = fitted(toy_file)
    back = normalizer.inverse_signals(normalizer.signals(raw), hit_threshold=1.0)
    assert (back[:, 0][(raw[:, 0] > 0) & (raw[:, 0] <= 0.999)] == 0).all()


def test_state_dict_is_plain_json_and_restores(toy_file: Path) -> None:
    normalizer, raw, _ = fitted(toy_file)
    state = json.loads(json.dumps(normalizer.state_dict()))
    restored = Normalizer.from_state_dict(state)
    assert np.array_equal(restored.signals(raw), normalizer.signals(raw))
    with pytest.raises(ValueError, match="lacks"):
        Normalizer.from_state_dict({"npe_scale": 1.0})


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
