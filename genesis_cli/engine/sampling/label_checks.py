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


def _beyond(name: str, values: np.ndarray, normalizer: Normalizer) -> tuple[np.ndarray, tuple[float, float]] | None:
    """(which ``values`` of label ``name`` lie beyond the training range by more than its slack, that range),
    or None when the run does not know the range. Energies are compared in log10."""
    trained = _training_range(normalizer, name)
    if trained is None:
        return None
    scale = np.log10 if name == "energy" else np.asarray
    low, high = scale(np.asarray(trained, dtype=np.float64))
    slack = RANGE_SLACK * max(float(high - low), 1e-12)
    scaled = scale(np.asarray(values, dtype=np.float64))
    return (scaled < low - slack) | (scaled > high + slack), trained


def outside_training(name: str, lo: float, hi: float, normalizer: Normalizer) -> str | None:
    """A warning when [lo, hi] of label ``name`` reaches beyond the training labels' range, else None."""
    found = _beyond(name, np.array([lo, hi]), normalizer)
    if found is None or not found[0].any():
        return None
    trained, unit = found[1], UNITS[name]
    return (f"--{name} {_shown(name, lo)}:{_shown(name, hi)} {unit} reaches outside the training range "
            f"{_shown(name, trained[0])}-{_shown(name, trained[1])} {unit}: the model never saw such events "
            f"and extrapolates there")


def check_requested(ranges: dict[str, tuple[float, float]], normalizer: Normalizer) -> list[str]:
    """The warnings for requested ranges (parse_range refused impossible ones) beyond the training labels."""
    return [text for name, (lo, hi) in ranges.items() if (text := outside_training(name, lo, hi, normalizer))]


def check_file_labels(path: Path, labels: np.ndarray, normalizer: Normalizer) -> list[str]:
    """Warnings for a labels file (N, 6) whose events reach outside the training labels' range, per label:
    how many, and the training range."""
    warnings = []
    for index, name in enumerate(LABEL_FLAGS):
        found = _beyond(name, labels[:, index], normalizer)
        outside = int(found[0].sum()) if found is not None else 0
        if found is not None and outside:
            trained, unit = found[1], UNITS[name]
            warnings.append(f"{path}: {outside:,} of {len(labels):,} events lie outside the training {name} range "
                            f"{_shown(name, trained[0])}-{_shown(name, trained[1])} {unit}: the model extrapolates "
                            "for them")
    return warnings
