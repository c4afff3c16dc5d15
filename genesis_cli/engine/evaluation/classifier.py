"""Classifier two-sample test (CaloChallenge 2022): can a network tell generated from real events?

An MLP is trained on a balanced mix (60%), its epoch chosen on a validation part (20%), and its
ROC AUC measured on the held-out rest (20%). 0.5 means indistinguishable, 1.0 perfectly separable.
The AUC is a rank statistic, so probability calibration (which CaloChallenge applies before
likelihood-ratio metrics) leaves it unchanged and is not needed for it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from genesis_cli.engine.evaluation.metrics import roc_auc

HIDDEN = 64
EPOCHS = 8
BATCH = 256
LEARNING_RATE = 1e-3
FEATURE_CLIP = 50.0


def classifier_auc(real: np.ndarray, other: np.ndarray, *, seed: int = 0) -> float:
    """Held-out AUC of an MLP separating ``real`` (N, K) from ``other`` (M, K) feature rows."""
    real, other = np.nan_to_num(real.astype(np.float64)), np.nan_to_num(other.astype(np.float64))
    rng = np.random.default_rng(seed)
    n = min(len(real), len(other))
    if n < 20:
        return float("nan")
    x = np.concatenate([real[rng.permutation(len(real))[:n]], other[rng.permutation(len(other))[:n]]])
    y = np.concatenate([np.zeros(n), np.ones(n)]).astype(np.float32)
    order = rng.permutation(2 * n)
    x, y = x[order], y[order]
    cut1, cut2 = int(0.6 * len(x)), int(0.8 * len(x))
    mean, std = x[:cut1].mean(axis=0), x[:cut1].std(axis=0) + 1e-6
    x = np.clip((x - mean) / std, -FEATURE_CLIP, FEATURE_CLIP).astype(np.float32)  # one absurd event cannot dominate
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(x.shape[1], HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loss_fn = nn.BCEWithLogitsLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    train_x, train_y, val_x, val_y, test_x = xt[:cut1], yt[:cut1], xt[cut1:cut2], yt[cut1:cut2], xt[cut2:]
    best_loss, best_state = float("inf"), None
    for _ in range(EPOCHS):
        model.train()
        for batch in torch.randperm(len(train_x), generator=generator).split(BATCH):
            optimizer.zero_grad()
            loss_fn(model(train_x[batch]).squeeze(1), train_y[batch]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            val_loss = float(loss_fn(model(val_x).squeeze(1), val_y))
        if val_loss < best_loss:
            best_loss, best_state = val_loss, {k: v.clone() for k, v in model.state_dict().items()}
    if best_state is not None:  # else every validation loss was NaN: keep the last weights
        model.load_state_dict(best_state)
    with torch.no_grad():
        scores = model(test_x).squeeze(1).numpy()
    return roc_auc(scores, y[cut2:])
