"""Classifier two-sample test (CaloChallenge 2022): can a network tell generated from real events?

An MLP is trained to separate the two samples (balanced by subsampling the larger) with k-fold
cross-validation: each fold in turn is scored by a network trained on the others, one of which (the
inner fold) stops its training early and keeps its best epoch. The ROC AUCs of the k folds are
averaged, so every event is scored once, out of fold.

- Folds are grouped. When generated event i was made for real event j's labels (the fidelity
  benchmark's protocol, `genesis sample --labels-from`), the two are a pair: with pairs split across
  folds, the network learns from one twin to call the other the opposite class, and a perfect
  generator scores below 0.5 (0.40 at 3,000 events). ``groups`` gives every event of a pair one
  group, and a group never straddles two folds.
- Inputs are rank-transformed: each column is mapped through the pooled sample's empirical CDF onto
  a standard normal (a quantile transform). Charges spanning six decades, ns-sharp onsets with
  tails of microseconds and 0/1 flags all reach the network on one scale, so it learns in a few
  epochs what mean/std scaling hid.
- Under the null hypothesis the out-of-fold AUC is a Mann-Whitney statistic, whose standard
  deviation is known (Hanley & McNeil 1982), so a verdict can say how many sigmas from 0.5 the AUC
  is. Below 0.5 by many sigmas means the generated events mirror the real ones (copies, or pairs
  the grouping missed): a judge alarm, not a good score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from genesis_cli.engine.evaluation.metrics import roc_auc
from genesis_cli.settings.evaluation import EvaluationConfig

MIN_EVENTS = 20  # fewer events per class give no meaningful AUC


@dataclass(frozen=True)
class ClassifierResult:
    auc: float
    events_per_class: int
    epochs: float = float("nan")  # mean epochs trained per fold (early stopping)

    @property
    def null_sigma(self) -> float:
        """Standard deviation of the AUC of indistinguishable samples of this size."""
        return auc_null_sigma(self.events_per_class, self.events_per_class)


def auc_null_sigma(n1: int, n2: int) -> float:
    """sd of the Mann-Whitney AUC when both classes come from one distribution (Hanley & McNeil 1982)."""
    if n1 <= 0 or n2 <= 0:
        return float("nan")
    return math.sqrt((n1 + n2 + 1) / (12.0 * n1 * n2))


def quantile_transform(x: np.ndarray) -> np.ndarray:
    """(N, K) -> (N, K) float32: each column's mid-ranks (ties averaged; NaN lowest) mapped onto a
    standard normal. Unsupervised, so fitting it on both classes leaks nothing into the folds."""
    n = len(x)
    out = np.empty(x.shape, np.float32)
    for k in range(x.shape[1]):
        column = np.where(np.isnan(x[:, k]), -np.inf, x[:, k])
        order = np.argsort(column, kind="mergesort")
        ordered = column[order]
        starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
        ends = np.concatenate([starts[1:], [n]])
        mid = (starts + ends - 1) / 2.0  # the mean 0-based rank of each run of ties
        ranks = np.empty(n)
        ranks[order] = np.repeat(mid, ends - starts)
        out[:, k] = math.sqrt(2.0) * torch.erfinv(torch.from_numpy((ranks + 0.5) / n * 2.0 - 1.0)).numpy()
    return out


def grouped_folds(groups: np.ndarray, folds: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Row indices of ``folds`` folds such that rows of one group share a fold (groups assigned at random)."""
    unique, inverse = np.unique(groups, return_inverse=True)
    fold_of_group = np.empty(len(unique), np.int64)
    fold_of_group[rng.permutation(len(unique))] = np.arange(len(unique)) % folds
    fold = fold_of_group[inverse]
    return [np.flatnonzero(fold == k) for k in range(folds)]


def _fit_and_score(xs: torch.Tensor, ys: torch.Tensor, train: np.ndarray, val: np.ndarray, test: np.ndarray,
                   seed: int, settings: EvaluationConfig) -> tuple[np.ndarray, int]:
    """Train on rows ``train`` until the loss on ``val`` stops falling, keep its best epoch, score ``test``;
    returns the scores and the epochs trained."""
    generator = torch.Generator(device=xs.device).manual_seed(seed)
    torch.manual_seed(seed)
    width = settings.classifier_hidden
    device = xs.device
    model = nn.Sequential(nn.Linear(xs.shape[1], width, device=device), nn.ReLU(),
                          nn.Linear(width, width, device=device), nn.ReLU(), nn.Linear(width, 1, device=device))
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.classifier_learning_rate)
    loss_fn = nn.BCEWithLogitsLoss()
    train_t, val_t = torch.from_numpy(train).to(xs.device), torch.from_numpy(val).to(xs.device)
    best_loss, best_state, waited, epoch = float("inf"), None, 0, 0
    for epoch in range(1, settings.classifier_max_epochs + 1):
        model.train()
        shuffled = train_t[torch.randperm(len(train_t), generator=generator, device=xs.device)]
        for batch in shuffled.split(settings.classifier_batch_size):
            optimizer.zero_grad()
            loss_fn(model(xs[batch]).squeeze(1), ys[batch]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            val_loss = float(loss_fn(model(xs[val_t]).squeeze(1), ys[val_t]))
        if val_loss < best_loss:
            best_loss, best_state, waited = val_loss, {k: v.clone() for k, v in model.state_dict().items()}, 0
        else:
            waited += 1
            if waited >= settings.classifier_patience:
                break
    if best_state is not None:  # else every validation loss was NaN: keep the last weights
        model.load_state_dict(best_state)
    with torch.no_grad():
        return model(xs[torch.from_numpy(test).to(xs.device)]).squeeze(1).cpu().numpy(), epoch


def classifier_auc(real: np.ndarray, other: np.ndarray, *, real_groups: np.ndarray | None = None,
                   other_groups: np.ndarray | None = None, seed: int = 0,
                   settings: EvaluationConfig | None = None) -> ClassifierResult:
    """Cross-validated AUC of an MLP separating ``real`` (N, K) from ``other`` (M, K) feature rows.

    ``real_groups`` (N,) and ``other_groups`` (M,) are integer group ids (events of one group, e.g. a
    generated event and the real event whose labels it was made for, never straddle two folds);
    None: every row its own group. Sizes and training from the evaluation ``settings``.
    """
    settings = settings or EvaluationConfig()
    rng = np.random.default_rng(seed)
    n = min(len(real), len(other))
    if n < MIN_EVENTS:
        return ClassifierResult(float("nan"), n)
    chosen_real, chosen_other = rng.permutation(len(real))[:n], rng.permutation(len(other))[:n]
    x = quantile_transform(np.concatenate([real[chosen_real], other[chosen_other]]).astype(np.float64))
    groups = np.concatenate([
        real_groups[chosen_real] if real_groups is not None else -1 - np.arange(n),
        other_groups[chosen_other] if other_groups is not None else -1 - n - np.arange(n)])
    y = np.concatenate([np.zeros(n), np.ones(n)]).astype(np.float32)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    folds = settings.classifier_folds
    parts = grouped_folds(groups, folds, rng)
    aucs, epochs = [], []
    for k in range(folds):
        val = parts[(k + 1) % folds]
        train = np.concatenate([parts[j] for j in range(folds) if j not in (k, (k + 1) % folds)])
        scores, trained = _fit_and_score(xs, ys, train, val, parts[k], seed + k, settings)
        aucs.append(roc_auc(scores, y[parts[k]]))
        epochs.append(trained)
    return ClassifierResult(float(np.nanmean(aucs)), n, float(np.mean(epochs)))
