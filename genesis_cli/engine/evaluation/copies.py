"""Memorisation and diversity: generated events that copy real or training events, or repeat each other.

A generator that returns the events it was trained on, or one event over and over, can look perfect
to every distribution test: a copy of the real file has the real file's every histogram. So the
judge looks for copies directly:

- exact copies: identical signals, found by a hash of every event (any file size);
- near copies: for the first ``evaluation.dom_events`` generated events, the few nearest events of
  the other sample in the space of event observables and labels are compared DOM by DOM; two events
  are near copies when their hit DOMs overlap by a Jaccard index of at least 0.9 and, on the shared
  DOMs, the median |time difference| is within 1 ns and the median |log npe difference| within 0.05
  (``evaluation.near_copy``). Independent events never come close: dark noise alone lights ~30
  random DOMs per event, and scattering spreads dim hits by tens of ns;
- with the training file (``genesis evaluate --training-data``): exact copies of training events,
  and a nearest-neighbour test in the space of event observables (rank-scaled on the training
  sample): the distance of each generated event to its nearest training event against the same
  distance of each held-out (real) event. A generator that memorised lies closer; the two samples
  are compared by their Mann-Whitney AUC, 0.5 when it did not (Meehan, Chaudhuri & Dasgupta, "A
  non-parametric test to detect data-copying in generative models", AISTATS 2020).
Copies and repeats are judged as the share of generated events (``evaluation.copies``, ``duplicates``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from genesis_cli.engine.evaluation.classifier import auc_null_sigma, quantile_transform
from genesis_cli.engine.evaluation.features import label_features
from genesis_cli.engine.evaluation.metrics import roc_auc
from genesis_cli.engine.evaluation.observables import Observables
from genesis_cli.engine.evaluation.verdicts import fraction_verdict, significance_verdict
from genesis_cli.settings.evaluation import EvaluationConfig

COPIES, DUPLICATES = "copies of real events", "duplicates within the generated file"
TRAINING_COPIES, MEMORISED = "copies of training events", "closer to the training data than simulation"
CANDIDATES = 4  # nearest events compared DOM by DOM
CHUNK = 512  # generated events per block of the distance matrix
#: Event observables of the nearest-neighbour spaces (label-free: a memorised event keeps its own labels).
NN_FEATURES = ("n_hit", "log10_charge", "cog_x", "cog_y", "cog_z", "first_time", "mean_time", "time_spread",
               "mean_delay", "max_string_fraction", "linefit_cos_zenith", "linefit_speed")


@dataclass(frozen=True)
class CopyCheck:
    """Generated events that copy an event of another sample (or repeat one of their own)."""

    name: str
    exact: int  # generated events identical to one of the others
    near: int  # further generated events, among the searched, that nearly copy one
    searched: int  # generated events searched for near copies
    events: int  # generated events
    verdict: str

    @property
    def fraction(self) -> float:
        """The share of generated events that copy: exact over all, near over the searched."""
        if self.events == 0:
            return float("nan")
        return self.exact / self.events + (self.near / self.searched if self.searched else 0.0)


@dataclass(frozen=True)
class MemorisationCheck:
    """Nearest-neighbour distances to the training events: generated against held-out simulation."""

    auc: float  # P(generated distance > held-out distance); 0.5 when the generator did not memorise
    sigma: float
    closest_share: float  # generated events closer to a training event than 99% of held-out events are
    training_events: int
    verdict: str


def _space(obs: Observables, rows: np.ndarray, with_labels: bool) -> np.ndarray:
    columns = [obs.high[k][rows] for k in NN_FEATURES]
    if with_labels:
        columns += list(label_features(obs.labels[rows]).T)
    return np.column_stack(columns)


def _scaled(*parts: np.ndarray) -> list[np.ndarray]:
    """The parts, rank-scaled together (NaN lowest), split again."""
    scaled = quantile_transform(np.concatenate(parts).astype(np.float64))
    bounds = np.cumsum([0] + [len(p) for p in parts])
    return [scaled[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def _nearest(query: np.ndarray, pool: np.ndarray, k: int, exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(Q, k) indices into ``pool`` of each query row's k nearest rows, and (Q, k) their distances."""
    k = min(k, len(pool) - (1 if exclude_self else 0))
    pool_sq = (pool ** 2).sum(axis=1)
    index, dist = np.empty((len(query), max(k, 0)), np.int64), np.empty((len(query), max(k, 0)))
    for start in range(0, len(query), CHUNK):
        block = query[start:start + CHUNK]
        d2 = (block ** 2).sum(axis=1)[:, None] + pool_sq[None, :] - 2.0 * block @ pool.T
        if exclude_self:
            d2[np.arange(len(block)), np.arange(start, start + len(block))] = np.inf
        if k <= 0:
            continue
        part = np.argpartition(d2, k - 1, axis=1)[:, :k]
        index[start:start + len(block)] = part
        dist[start:start + len(block)] = np.sqrt(np.maximum(np.take_along_axis(d2, part, axis=1), 0.0))
    return index, dist


def near_copy(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...], rule: tuple[float, float, float]) -> bool:
    """Whether two events, each (dom, npe, time) of its hits, are near copies by ``rule``
    (Jaccard index at least, median |dt| ns at most, median |d log npe| at most)."""
    jaccard_min, time_max, log_npe_max = rule
    shared, ia, ib = np.intersect1d(a[0], b[0], assume_unique=True, return_indices=True)
    union = len(a[0]) + len(b[0]) - len(shared)
    if union == 0 or len(shared) / union < jaccard_min:
        return False
    with np.errstate(divide="ignore", invalid="ignore"):
        log_npe = np.abs(np.log(a[1][ia]) - np.log(b[1][ib]))
    return bool(np.median(np.abs(a[2][ia] - b[2][ib])) <= time_max and np.median(log_npe) <= log_npe_max)


def _near_copies(generated: Observables, other: Observables | None, exact: np.ndarray,
                 rule: tuple[float, float, float]) -> int:
    """Searched generated events (not exact copies) that nearly copy an event of ``other`` (None: an
    earlier generated event)."""
    pool = other if other is not None else generated
    if not len(generated.dom_event) or not len(pool.dom_event):
        return 0
    query, base = _scaled(_space(generated, generated.dom_event, True), _space(pool, pool.dom_event, True))
    candidates, _ = _nearest(query, base, CANDIDATES, exclude_self=other is None)
    found = 0
    for i, row in enumerate(candidates):
        if exact[generated.dom_event[i]]:
            continue
        mine = generated.hits.event(i)
        for j in row:
            if (other is None and j >= i) or not near_copy(mine, pool.hits.event(int(j)), rule):
                continue
            found += 1
            break
    return found


def copies_of(generated: Observables, other: Observables, settings: EvaluationConfig, *,
              name: str = COPIES, search: bool = True) -> CopyCheck:
    """Generated events that copy an event of ``other`` exactly or (``search``) nearly."""
    exact = np.isin(generated.hashes, other.hashes)
    near = _near_copies(generated, other, exact, settings.near_copy) if search else 0
    searched = len(generated.dom_event) if search else 0
    check = CopyCheck(name, int(exact.sum()), near, searched, len(generated.labels), "")
    return _judged(check, settings.copies)


def repeats(generated: Observables, settings: EvaluationConfig) -> CopyCheck:
    """Generated events that repeat an earlier generated event exactly or nearly (low diversity)."""
    _, first = np.unique(generated.hashes, return_index=True)
    exact = np.ones(len(generated.hashes), bool)
    exact[first] = False
    near = _near_copies(generated, None, exact, settings.near_copy)
    check = CopyCheck(DUPLICATES, int(exact.sum()), near, len(generated.dom_event), len(generated.labels), "")
    return _judged(check, settings.duplicates)


def _judged(check: CopyCheck, rule: tuple[float, float]) -> CopyCheck:
    return CopyCheck(check.name, check.exact, check.near, check.searched, check.events,
                     fraction_verdict(check.fraction, rule))


def memorisation(training: Observables, real: Observables, generated: Observables,
                 settings: EvaluationConfig) -> MemorisationCheck:
    """The nearest-neighbour test: generated events' distances to the training events against held-out ones'."""
    every = (np.arange(len(training.labels)), np.arange(len(real.labels)), np.arange(len(generated.labels)))
    train, held, gen = _scaled(*(_space(o, rows, False) for o, rows in zip((training, real, generated), every)))
    if len(train) < 2 or len(held) == 0 or len(gen) == 0:
        return MemorisationCheck(float("nan"), float("nan"), float("nan"), len(train), "n/a")
    d_held = _nearest(held, train, 1)[1][:, 0]
    d_gen = _nearest(gen, train, 1)[1][:, 0]
    auc = roc_auc(np.concatenate([d_held, d_gen]), np.concatenate([np.zeros(len(d_held)), np.ones(len(d_gen))]))
    sigma = auc_null_sigma(len(d_held), len(d_gen))
    closer = 0.5 - auc  # > 0: the generated events sit closer to the training events
    z = closer / sigma if sigma > 0 else float("nan")
    verdict = significance_verdict(max(closer, 0.0), max(z, 0.0), settings.memorisation) if math.isfinite(z) else "n/a"
    closest = float(np.mean(d_gen < np.quantile(d_held, 0.01)))
    return MemorisationCheck(auc, sigma, closest, len(train), verdict)

