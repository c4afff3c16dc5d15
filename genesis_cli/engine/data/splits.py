"""Deterministic train/validation/test splits of a file's events.

A seeded permutation of event indices is cut by the configured ratios, so the same seed, ratios
and event count always give the same split, and an event never lands in two splits. A split is
recorded as its recipe (seed, ratios, count) plus a fingerprint of the indices, which resume and
evaluation check before trusting a split again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from genesis_cli.settings import ExperimentConfig

SPLIT_NAMES = ("train", "val", "test")


@dataclass(frozen=True)
class DataSplit:
    """Sorted event indices of each split."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    seed: int
    ratios: tuple[float, float, float]

    @property
    def n_events(self) -> int:
        return len(self.train) + len(self.val) + len(self.test)

    def indices(self, name: str) -> np.ndarray:
        if name not in SPLIT_NAMES:
            raise ValueError(f"unknown split {name!r}; choose train, val or test")
        return getattr(self, name)

    def fingerprint(self) -> str:
        """SHA-256 over the three index arrays: equal fingerprints mean equal splits."""
        digest = hashlib.sha256()
        for name in SPLIT_NAMES:
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(self.indices(name), dtype=np.int64).tobytes())
        return digest.hexdigest()

    def record(self) -> dict[str, Any]:
        """Plain data describing the split (for checkpoints and run directories)."""
        return {"seed": self.seed, "ratios": list(self.ratios), "n_events": self.n_events,
                "sizes": {name: len(self.indices(name)) for name in SPLIT_NAMES},
                "fingerprint": self.fingerprint()}


def split_of(config: ExperimentConfig, n_events: int) -> DataSplit:
    """The split a run of ``config`` uses for a file of ``n_events``: data.*_ratio and the seed."""
    data = config.data
    return make_split(n_events, (data.train_ratio, data.val_ratio, data.test_ratio), config.seed)


def make_split(n_events: int, ratios: tuple[float, float, float], seed: int) -> DataSplit:
    """Split ``n_events`` by ``ratios`` (train, val, test) with a permutation seeded by ``seed``."""
    if n_events <= 0:
        raise ValueError("cannot split an empty file")
    _, val_ratio, test_ratio = ratios
    n_val = int(round(n_events * val_ratio))
    n_test = int(round(n_events * test_ratio))
    n_train = n_events - n_val - n_test
    if n_train < 1:
        raise ValueError(f"{n_events} events leave none for training with ratios {ratios}")
    order = np.random.default_rng(seed).permutation(n_events)
    parts = np.split(order, [n_train, n_train + n_val])
    train, val, test = (np.sort(p).astype(np.int64) for p in parts)
    return DataSplit(train, val, test, seed, tuple(float(r) for r in ratios))  # type: ignore[arg-type]
