"""make_dataloader: the guide's API, both loading modes, determinism, workers, bad data."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from genesis_cli import make_dataloader
from genesis_cli.engine.data.eventfile import EventFile
from genesis_cli.errors import DataError
from genesis_cli.settings import resolve_config


def config(*overrides: str):  # type: ignore[no-untyped-def]
    return resolve_config(overrides=list(overrides)).config


STREAM = "data.memory_budget_gb=1e-9"


def epoch_indices(loader) -> np.ndarray:  # type: ignore[no-untyped-def]
    return torch.cat([idx for *_, idx in loader]).numpy()


def test_guide_snippet_batch_shapes(toy_file: Path) -> None:
    loader = make_dataloader(toy_file, batch_size=16)
    x_sig, geom, label, idx = next(iter(loader))
    assert x_sig.shape == (16, 3, 5160) and x_sig.dtype == torch.float32  # npe, time, hit channel
    assert geom.shape == (16, 3, 5160) and label.shape == (16, 6) and idx.shape == (16,)
    assert geom.stride(0) == 0  # one geometry, broadcast as a view
    assert torch.isfinite(x_sig).all() and torch.isfinite(label).all()


def test_default_arguments_come_from_the_config(toy_file: Path) -> None:
    loader = make_dataloader(toy_file)
    assert loader.batch_size == 8  # training.batch_size of the defaults


@pytest.mark.parametrize("mode_override,mode", [((), "memory"), ((STREAM,), "stream")])
def test_each_epoch_visits_every_training_event_once(toy_file: Path, mode_override: tuple[str, ...], mode: str) -> None:
    loader = make_dataloader(toy_file, 32, config=config(*mode_override, "data.shuffle_buffer_events=64"))
    assert loader.mode == mode
    seen = epoch_indices(loader)
    assert np.array_equal(np.sort(seen), loader.indices)
    assert not np.array_equal(seen, loader.indices)  # shuffled


@pytest.mark.parametrize("mode_override", [(), (STREAM,)])
def test_order_is_seeded_by_seed_and_epoch(toy_file: Path, mode_override: tuple[str, ...]) -> None:
    first = make_dataloader(toy_file, 32, config=config(*mode_override))
    second = make_dataloader(toy_file, 32, config=config(*mode_override))
    assert np.array_equal(epoch_indices(first), epoch_indices(second))
    second.set_epoch(1)
    assert not np.array_equal(epoch_indices(first), epoch_indices(second))


def test_memory_and_stream_modes_give_the_same_events(toy_file: Path) -> None:
    memory = make_dataloader(toy_file, 50, split="val")
    stream = make_dataloader(toy_file, 50, split="val", config=config(STREAM))
    (xm, _, lm, im), (xs, _, ls, is_) = next(iter(memory)), next(iter(stream))
    assert np.array_equal(im.numpy(), is_.numpy())  # unshuffled: file order
    assert torch.equal(xm, xs) and torch.equal(lm, ls)


def test_stream_mode_with_two_workers_is_complete(toy_file: Path) -> None:
    loader = make_dataloader(toy_file, 16, config=config(STREAM, "data.shuffle_buffer_events=32"), num_workers=2)
    seen = epoch_indices(loader)
    assert np.array_equal(np.sort(seen), loader.indices)


def test_splits_are_disjoint(toy_file: Path) -> None:
    parts = [set(make_dataloader(toy_file, 64, split=s).indices.tolist()) for s in ("train", "val", "test")]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert sum(len(p) for p in parts) == 400


def test_batch_matches_the_normalised_file_content(toy_file: Path) -> None:
    loader = make_dataloader(toy_file, 8, split="test")
    x_sig, _, label, idx = next(iter(loader))
    with EventFile(toy_file) as events:
        raw = np.stack([events.signals(int(i), int(i) + 1)[0] for i in idx])
        labels = np.stack([events.labels(int(i), int(i) + 1)[0] for i in idx])
        assert np.array_equal(x_sig.numpy(), loader.normalizer.signals(raw, labels, events.geometry.positions))
    np.testing.assert_allclose(label.numpy(), loader.normalizer.labels(labels), rtol=1e-6)


def test_drop_last(toy_file: Path) -> None:
    loader = make_dataloader(toy_file, 30, drop_last=True)
    assert all(x.shape[0] == 30 for x, *_ in loader)
    assert len(loader) == len(loader.indices) // 30


def test_negative_npe_is_a_clear_error(toy_file: Path, tmp_path: Path) -> None:
    import shutil

    broken = tmp_path / "broken.h5"
    shutil.copy(toy_file, broken)
    with h5py.File(broken, "a") as handle:
        handle["input"][5, 0, 10] = -3.0
    with pytest.raises(DataError, match=r"npe -3.0 \(event 5\)"):
        make_dataloader(broken, 8, split="train", config=config("data.normalization_events=400"))


def test_missing_path_is_a_usage_error() -> None:
    from genesis_cli.errors import UsageError

    with pytest.raises(UsageError, match="no event file given"):
        make_dataloader()
