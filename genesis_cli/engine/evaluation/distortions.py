"""Known ways a generator goes wrong, applied to simulated events: what the judge must catch.

Each distortion takes physical events (signals (N, 2, L) [npe, time ns] with no-hit DOMs at npe 0 and
time inf, labels (N, 6)) and returns a distorted copy. Applied to a simulation independent of the
reference, each must make `genesis evaluate` FAIL, and the check named beside it must be among the
poor ones (tests/test_evaluation.py; `benchmarks/judge.py` prints the verdicts). They are the failure
modes a physicist must see: events paired with the wrong labels, a flipped zenith, a time offset, a
charge scale, lost hits and spurious weak hits.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Events = tuple[np.ndarray, np.ndarray]  # signals (N, 2, L), labels (N, 6)
Distortion = Callable[[np.ndarray, np.ndarray, np.random.Generator], Events]

TIME_SHIFT_NS = 20.0
CHARGE_SCALE = 1.3
DROPPED_FRACTION = 0.1
EXTRA_HIT_FRACTION = 0.2
READOUT_WINDOW_NS = (6_000.0, 16_000.0)  # where extra noise-like hits land (the toy readout's span)


def shuffled_labels(signals: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Events:
    """Each event paired with another event's labels: a generator that ignores its labels."""
    return signals, labels[rng.permutation(len(labels))]


def zenith_flipped(signals: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Events:
    """Up-going labelled as down-going and vice versa: a generator with the direction backwards."""
    flipped = labels.copy()
    flipped[:, 1] = np.pi - flipped[:, 1]
    return signals, flipped


def times_late(signals: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Events:
    """Every hit 20 ns late (no-hit DOMs stay at inf)."""
    late = signals.copy()
    late[:, 1] += TIME_SHIFT_NS
    return late, labels


def charges_high(signals: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Events:
    """Every charge 30% high: a wrong light yield."""
    brighter = signals.copy()
    brighter[:, 0] *= CHARGE_SCALE
    return brighter, labels


def hits_dropped(signals: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Events:
    """10% of the hits lost at random."""
    fewer = signals.copy()
    drop = (fewer[:, 0] > 0) & (rng.random(fewer[:, 0].shape) < DROPPED_FRACTION)
    fewer[:, 0][drop], fewer[:, 1][drop] = 0.0, np.inf
    return fewer, labels


def extra_weak_hits(signals: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Events:
    """20% more hits, of 1 PE each, on empty DOMs at times uniform over the readout window."""
    more = signals.copy()
    hit = more[:, 0] > 0
    share = EXTRA_HIT_FRACTION * hit.sum(axis=1, keepdims=True) / np.maximum((~hit).sum(axis=1, keepdims=True), 1)
    add = ~hit & (rng.random(hit.shape) < share)
    more[:, 0][add], more[:, 1][add] = 1.0, rng.uniform(*READOUT_WINDOW_NS, int(add.sum()))
    return more, labels


#: name -> (distortion, a check that must be poor), in the order of issue 11's list.
DISTORTIONS: dict[str, tuple[Distortion, str]] = {
    "labels shuffled between events": (shuffled_labels, "classifier AUC, high-level"),
    "zenith label flipped": (zenith_flipped, "linefit_angle W1"),
    "hit times +20 ns": (times_late, "onset_time W1"),
    "npe x1.3": (charges_high, "charge_residual W1"),
    "10% of hits dropped": (hits_dropped, "hits_residual W1"),
    "20% extra 1-PE hits": (extra_weak_hits, "n_hit W1"),
}
