"""Classifier two-sample test (CaloChallenge 2022): can a network tell generated from real events?

An MLP is trained to separate the two samples (balanced by subsampling the larger), with k-fold
cross-validation: each fold in turn is scored by a network trained on the other folds (one of which
chooses the epoch), and the ROC AUCs of the k folds are averaged (per fold, so the networks' score
scales never mix), so every event is scored once, out of fold. That is k times the work of one split and a sqrt(k) smaller statistical error, which decides
whether a small difference is a verdict or noise (``auc_null_sigma``). 0.5 means
indistinguishable; 1.0 or 0.0 perfectly separable (an AUC far below 0.5 is as suspicious as one
above it, so verdicts judge |AUC - 0.5|). The AUC is a rank statistic, so probability calibration
(which CaloChallenge applies before likelihood-ratio metrics) leaves it unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from genesis_cli.engine.evaluation.metrics import roc_auc
from genesis_cli.settings.evaluation import EvaluationConfig

FEATURE_CLIP = 50.0  # standardised features beyond this many sigmas are clipped
MIN_EVENTS = 20  # fewer events per class give no meaningful AUC


@dataclass(frozen=True)
class ClassifierResult:
    auc: float
    events_per_class: int

    @property
    def null_sigma(self) -> float:
        """Standard deviation of the AUC of indistinguishable samples of this size."""
        return auc_null_sigma(self.events_per_class, self.events_per_class)


def auc_null_sigma(n1: int, n2: int) -> float:
    """sd of the Mann-Whitney AUC when both classes come from one distribution (Hanley & McNeil 1982)."""
    if n1 <= 0 or n2 <= 0:
        return float("nan")
    return math.sqrt((n1 + n2 + 1) / (12.0 * n1 * n2))


def _fit_and_score(xs: torch.Tensor, ys: torch.Tensor, train: np.ndarray, val: np.ndarray, test: np.ndarray,
                   seed: int, settings: EvaluationConfig) -> np.ndarray:
    """Train on rows ``train``, keep the epoch best on ``val``, score ``test``."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    width = settings.classifier_hidden
    model = nn.Sequential(nn.Linear(xs.shape[1], width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.classifier_learning_rate)
    loss_fn = nn.BCEWithLogitsLoss()
    train_t, val_t = torch.from_numpy(train), torch.from_numpy(val)
    best_loss, best_state = float("inf"), None
    for _ in range(settings.classifier_epochs):
        model.train()
        for batch in train_t[torch.randperm(len(train_t), generator=generator)].split(settings.classifier_batch_size):
            optimizer.zero_grad()
            loss_fn(model(xs[batch]).squeeze(1), ys[batch]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            val_loss = float(loss_fn(model(xs[val_t]).squeeze(1), ys[val_t]))
        if val_loss < best_loss:
            best_loss, best_state = val_loss, {k: v.clone() for k, v in model.state_dict().items()}
    if best_state is not None:  # else every validation loss was NaN: keep the last weights
        model.load_state_dict(best_state)
    with torch.no_grad():
        return model(xs[torch.from_numpy(test)]).squeeze(1).numpy()


def classifier_auc(real: np.ndarray, other: np.ndarray, *, seed: int = 0,
                   settings: EvaluationConfig | None = None) -> ClassifierResult:
    """Cross-validated AUC of an MLP separating ``real`` (N, K) from ``other`` (M, K) feature rows
    (sizes from the evaluation settings)."""
    settings = settings or EvaluationConfig()
    folds = settings.classifier_folds
    rng = np.random.default_rng(seed)
    n = min(len(real), len(other))
    if n < MIN_EVENTS:
        return ClassifierResult(float("nan"), n)
    x = np.concatenate([real[rng.permutation(len(real))[:n]], other[rng.permutation(len(other))[:n]]]).astype(np.float32)
    np.nan_to_num(x, copy=False)
    # Standardised once on all rows: unsupervised (the class is not used), so nothing leaks into the folds.
    x -= x.mean(axis=0)
    x /= x.std(axis=0) + 1e-6
    np.clip(x, -FEATURE_CLIP, FEATURE_CLIP, out=x)  # one absurd event cannot dominate
    xs, y = torch.from_numpy(x), np.concatenate([np.zeros(n), np.ones(n)]).astype(np.float32)
    ys = torch.from_numpy(y)
    parts = np.array_split(rng.permutation(2 * n), folds)
    aucs = []
    for k in range(folds):
        val = parts[(k + 1) % folds]
        train = np.concatenate([parts[j] for j in range(folds) if j not in (k, (k + 1) % folds)])
        aucs.append(roc_auc(_fit_and_score(xs, ys, train, val, parts[k], seed + k, settings), y[parts[k]]))
    return ClassifierResult(float(np.mean(aucs)), n)
