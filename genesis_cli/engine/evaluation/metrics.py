"""Distances between real and generated samples (CaloChallenge 2022 conventions).

- Wasserstein-1 of 1-D distributions (the area between the quantile functions), and the W1 of the
  probability integral transform: each value mapped through the real sample's empirical CDF, so
  the real values become uniform on [0, 1] and the W1 of the mapped other sample from that uniform
  is scale-free, bounded by 0.5 and robust to heavy tails (a distribution of ns-sharp onsets with a
  few events 500 ns away compares like one of charges). 0.05 means the two distributions lie 5% of
  probability apart on average; two samples of 1,000 events of one distribution give ~0.01.
- Separation power 0.5 * sum (h1 - h2)^2 / (h1 + h2) of normalised histograms on common bins
  (0 = identical, 1 = disjoint).
- Frechet distance between Gaussian fits of standardised feature vectors,
  |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2) (as FID/FPD).
- ROC AUC of scores by the Mann-Whitney rank statistic.
"""

from __future__ import annotations

import numpy as np

QUANTILE_POINTS = 1000
HISTOGRAM_BINS = 50


def finite(values: np.ndarray) -> np.ndarray:
    return values[np.isfinite(values)]


def wasserstein1(a: np.ndarray, b: np.ndarray) -> float:
    """W1 between the empirical distributions of a and b (unequal sizes allowed)."""
    a, b = finite(a), finite(b)
    if a.size == 0 or b.size == 0:
        return float("nan")
    q = (np.arange(QUANTILE_POINTS) + 0.5) / QUANTILE_POINTS
    return float(np.mean(np.abs(np.quantile(a, q) - np.quantile(b, q))))


def scaled_wasserstein1(real: np.ndarray, other: np.ndarray) -> float:
    """W1 in units of the real sample's standard deviation."""
    spread = float(np.std(finite(real)))
    return wasserstein1(real, other) / spread if spread > 0 else float("nan")


def pit_wasserstein1(real: np.ndarray, other: np.ndarray) -> float:
    """W1 between U(0, 1) and ``other`` mapped through ``real``'s empirical CDF (ties count half)."""
    reference, values = np.sort(finite(real)), finite(other)
    if reference.size == 0 or values.size == 0:
        return float("nan")
    mapped = (np.searchsorted(reference, values, "left") + np.searchsorted(reference, values, "right")) \
        / (2.0 * reference.size)
    q = (np.arange(QUANTILE_POINTS) + 0.5) / QUANTILE_POINTS
    return float(np.mean(np.abs(q - np.quantile(mapped, q))))


def common_bins(real: np.ndarray, other: np.ndarray, bins: int = HISTOGRAM_BINS) -> np.ndarray:
    both = np.concatenate([finite(real), finite(other)])
    lo, hi = np.quantile(both, [0.001, 0.999]) if both.size else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1.0
    return np.linspace(lo, hi, bins + 1)


def separation_power(real: np.ndarray, other: np.ndarray) -> float:
    edges = common_bins(real, other)
    h1, _ = np.histogram(np.clip(finite(real), edges[0], edges[-1]), edges)
    h2, _ = np.histogram(np.clip(finite(other), edges[0], edges[-1]), edges)
    if h1.sum() == 0 or h2.sum() == 0:
        return float("nan")
    h1, h2 = h1 / h1.sum(), h2 / h2.sum()
    total = h1 + h2
    mask = total > 0
    return float(0.5 * np.sum((h1[mask] - h2[mask]) ** 2 / total[mask]))


def _sqrtm_psd(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between (N, K) and (M, K) feature matrices (rows with NaN dropped)."""
    a, b = a[np.isfinite(a).all(axis=1)], b[np.isfinite(b).all(axis=1)]
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    root_a = _sqrtm_psd(cov_a)
    cross = _sqrtm_psd(root_a @ cov_b @ root_a)
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * cross))


def standardised_frechet(a: np.ndarray, b: np.ndarray, mean: np.ndarray, std: np.ndarray) -> float:
    """Frechet distance of (N, K) and (M, K) rows standardised by a reference's ``mean`` and ``std`` (K,).
    A feature that does not vary in the reference is left out: dividing by its zero spread made five
    real events read 3.8e17 (issue 23); its distribution is judged by its own check. NaN when none varies."""
    varies = np.isfinite(std) & (std > 1e-9 * np.maximum(1.0, np.abs(mean)))
    if not varies.any():
        return float("nan")
    return frechet_distance((a[:, varies] - mean[varies]) / std[varies], (b[:, varies] - mean[varies]) / std[varies])


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve of scores for binary labels (ties count half)."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    ranks[order] = np.arange(1, len(scores) + 1)
    # average ranks of ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    for start, count in zip(first, counts):
        if count > 1:
            ranks[order[start:start + count]] = ranks[order[start:start + count]].mean()
    positives = labels == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
