"""Labels a model can answer: impossible values refused, values outside the training range named.

A model conditioned on [E, zenith, azimuth, x, y, z] has seen only its training labels; beyond them it
extrapolates, and its events are not simulation's. Two mistakes are common enough to catch by name:
angles in degrees (``--zenith 0:180``; GENESIS's angles are radians) and energies far outside the
training range (``--energy 1e9:1e10`` for a model trained on 1e3-1e6 GeV). Impossible values (a zenith
beyond pi, ``conditions.parse_range``) are refused; possible ones outside the training range get a warning in plain words.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from genesis_cli.engine.data.normalization import Normalizer
from genesis_cli.engine.sampling.conditions import LABEL_FLAGS

UNITS = {"energy": "GeV", "zenith": "rad", "azimuth": "rad", "x": "m", "y": "m", "z": "m"}
#: A requested end counts as outside the training range when beyond it by more than this share of the
#: range's width (energy: of its width in log10), so asking for the training range itself never warns.
RANGE_SLACK = 0.01


def _scale(name: str, value: float) -> float:
    return math.log10(value) if name == "energy" else value


def _shown(name: str, value: float) -> str:
    return f"{value:.3g}" if name == "energy" else f"{value:.4g}"


def _training_range(normalizer: Normalizer, name: str) -> tuple[float, float] | None:
    """The training labels' (lo, hi) of ``name``. A run fitted before the range was kept knows its energies'
    log mean and spread only: mean +- sqrt(3) sd (exact for log-uniform energies); its positions are unknown."""
    if normalizer.label_low is not None and normalizer.label_high is not None:
        index = LABEL_FLAGS.index(name)
        return normalizer.label_low[index], normalizer.label_high[index]
    if name != "energy":
        return None
    half = math.sqrt(3) * normalizer.log_energy_std
    return 10 ** (normalizer.log_energy_mean - half), 10 ** (normalizer.log_energy_mean + half)


def outside_training(name: str, lo: float, hi: float, normalizer: Normalizer) -> str | None:
    """A warning when [lo, hi] of label ``name`` reaches beyond the training labels' range, else None."""
    trained = _training_range(normalizer, name)
    if trained is None:
        return None
    t_lo, t_hi = (_scale(name, v) for v in trained)
    slack = RANGE_SLACK * max(t_hi - t_lo, 1e-12)
    if _scale(name, lo) >= t_lo - slack and _scale(name, hi) <= t_hi + slack:
        return None
    unit = UNITS[name]
    return (f"--{name} {_shown(name, lo)}:{_shown(name, hi)} {unit} reaches outside the training range "
            f"{_shown(name, trained[0])}-{_shown(name, trained[1])} {unit}: the model never saw such events "
            f"and extrapolates there")


def check_requested(ranges: dict[str, tuple[float, float]], normalizer: Normalizer) -> list[str]:
    """The warnings for requested ranges (parse_range refused impossible ones) beyond the training labels."""
    return [text for name, (lo, hi) in ranges.items() if (text := outside_training(name, lo, hi, normalizer))]


def check_file_labels(path: Path, labels: np.ndarray, normalizer: Normalizer) -> list[str]:
    """Warnings for a labels file (N, 6) whose events reach outside the training labels' range, per label:
    how many, and the training range."""
    if normalizer.label_low is None or normalizer.label_high is None or not len(labels):
        return []
    warnings = []
    for index, name in enumerate(LABEL_FLAGS):
        t_lo, t_hi = normalizer.label_low[index], normalizer.label_high[index]
        values, low, high = (np.log10(labels[:, 0]), math.log10(t_lo), math.log10(t_hi)) if name == "energy" \
            else (labels[:, index], t_lo, t_hi)
        slack = RANGE_SLACK * max(high - low, 1e-12)
        outside = int(((values < low - slack) | (values > high + slack)).sum())
        if outside:
            unit = UNITS[name]
            warnings.append(f"{path}: {outside:,} of {len(labels):,} events lie outside the training {name} range "
                            f"{_shown(name, t_lo)}-{_shown(name, t_hi)} {unit}: the model extrapolates for them")
    return warnings
