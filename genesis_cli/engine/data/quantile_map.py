"""A monotone map of a pooled marginal onto a standard normal: the Gaussianising quantile transform.

Values v (the training hits' log1p(npe), or their times after the vertex origin) map to scores
z = Phi^-1(F(v)), F their empirical distribution, so the model's per-channel targets over hits are
N(0, 1) whatever the detector's shape: a v-prediction network's errors of a tenth of a standard
deviation then move a value by a tenth of the data's local spread, everywhere. With log1p(npe)
standardised, the single-photoelectron peak (a quarter of all hits in 0.7-1.3 PE) is one tenth of a
standard deviation wide, so small errors smear it to 0.1-0.5 PE; the saturated charges of the nearest
DOMs sit in one narrow band too, and the generator extrapolates past the detector's largest charge.
A quantile map gives each a width proportional to its share of the hits, and its inverse stays
within the training values (Chen & Gopinath 2000, "Gaussianization"; the marginal step of it, as
scikit-learn's QuantileTransformer(output_distribution="normal")).

The map is piecewise linear between knots at scores evenly spaced in z, out to the most extreme
score the sample resolves (Phi^-1(1 - 0.5 / n)); each knot's score is the normal quantile of the
middle of its share of the sample, so a discrete value (integer charges) maps to the middle of its
step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

#: Knots of a fitted map: 512 evenly spaced scores resolve a tenth of a standard deviation's spread
#: with ~50 knots, far finer than a model's errors.
KNOTS = 512


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    return np.array([0.5 * (1.0 + math.erf(float(v) / math.sqrt(2.0))) for v in np.ravel(z)])


@dataclass(frozen=True)
class Floor:
    """A reference transform whose resolution the map keeps a share of: ``to_score`` sends values to a
    standard normal, ``from_score`` back. The fitted map's distribution is the mixture
    (1 - weight) x sample + weight x reference, so wherever the sample is sparse (the few ns before
    the prompt light, between the noise and the light) the map still resolves what the reference does."""

    to_score: Callable[[np.ndarray], np.ndarray]
    from_score: Callable[[np.ndarray], np.ndarray]
    weight: float


@dataclass(frozen=True)
class QuantileMap:
    """values (knots, increasing) <-> normal scores (increasing), piecewise linear in between."""

    values: tuple[float, ...]
    scores: tuple[float, ...]

    @classmethod
    def fit(cls, sample: np.ndarray, knots: int = KNOTS, floor: Floor | None = None) -> QuantileMap:
        """The map of ``sample`` (any shape, finite) onto N(0, 1), with a share of ``floor``'s resolution."""
        sample = np.asarray(sample, dtype=np.float64).ravel()
        if sample.size == 0:
            raise ValueError("a quantile map needs at least one value")
        ordered = np.sort(sample)
        n = ordered.size
        if n == 1:
            return cls((float(ordered[0]),), (0.0,))
        edge = NormalDist().inv_cdf(1.0 - 0.5 / n)
        grid = np.linspace(-edge, edge, knots)
        candidates = [ordered[:1], np.quantile(ordered, _normal_cdf(grid)), ordered[-1:]]  # ends: the range
        if floor is not None:
            candidates.append(np.clip(floor.from_score(grid), ordered[0], ordered[-1]))
        values = np.unique(np.concatenate(candidates))
        # a knot's share: the middle of its share of the sample (for a tied, discrete value the middle of
        # its step; for continuous values its grid probability), mixed with the floor's
        share = (np.searchsorted(ordered, values, "left") + np.searchsorted(ordered, values, "right")) / (2.0 * n)
        if floor is not None:
            share = (1.0 - floor.weight) * share + floor.weight * _normal_cdf(floor.to_score(values))
        share = np.clip(share, 0.5 / n, 1.0 - 0.5 / n)
        keep = np.concatenate([[True], np.diff(share) > 0])  # knots in one gap of the sample add nothing
        scores = [NormalDist().inv_cdf(float(p)) for p in share[keep]]
        return cls(tuple(float(v) for v in values[keep]), tuple(float(z) for z in scores))

    def forward(self, values: np.ndarray) -> np.ndarray:
        """Values -> scores (values beyond the knots take the end scores)."""
        return np.interp(values, self.values, self.scores)

    def inverse(self, scores: np.ndarray) -> np.ndarray:
        """Scores -> values, within the fitted sample's range."""
        return np.interp(scores, self.scores, self.values)
