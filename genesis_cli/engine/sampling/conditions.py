"""The labels to generate for: a real file's labels, or ranges and fixed values per label.

Range syntax: ``LO:HI`` or a single value. Energy ranges are log-uniform; zenith is isotropic
(uniform in cos zenith) within its range; azimuth and positions are uniform. Labels not given
default to the training distribution: energies spanning the training log-energy range (mean +-
sqrt(3) standard deviations, exact for log-uniform training data), isotropic directions, and
vertices inside the detector's bounding box.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genesis_cli.engine.data.eventfile import EventFile, EventIds, check_labels
from genesis_cli.engine.data.normalization import Normalizer
from genesis_cli.engine.detector import Geometry
from genesis_cli.errors import UsageError

LABEL_FLAGS = ("energy", "zenith", "azimuth", "x", "y", "z")
#: The angles' physical ranges (radians): a zenith beyond pi or an azimuth beyond 2 pi is no direction.
ANGLE_RANGES = {"zenith": (0.0, math.pi), "azimuth": (0.0, 2 * math.pi)}


def parse_range(text: str, flag: str) -> tuple[float, float]:
    """'1e5:1e7' -> (1e5, 1e7); '1e6' -> (1e6, 1e6); impossible values (energy <= 0, angles beyond their range) refused."""
    parts = text.split(":")
    try:
        values = [float(p) for p in parts]
    except ValueError as exc:
        raise UsageError(f"--{flag} {text!r}: expected a number or LO:HI", hint=f"for example --{flag} 1e5:1e7") from exc
    if len(values) not in (1, 2) or not all(math.isfinite(v) for v in values):
        raise UsageError(f"--{flag} {text!r}: expected a number or LO:HI")
    lo, hi = values[0], values[-1]
    if lo > hi:
        raise UsageError(f"--{flag} {text!r}: the lower end exceeds the upper end")
    if flag == "energy" and lo <= 0:
        raise UsageError(f"--energy {text!r}: energies must be > 0 GeV")
    check_angle(flag, lo, hi)
    return lo, hi


def check_angle(flag: str, lo: float, hi: float) -> None:
    """Refuse an angle range outside its physical range; name degrees when the numbers look like them."""
    if flag not in ANGLE_RANGES:
        return
    low, high = ANGLE_RANGES[flag]
    if lo >= low - 1e-9 and hi <= high + 1e-9:
        return
    text = f"{lo:g}:{hi:g}" if lo != hi else f"{lo:g}"
    radians = f"{math.radians(lo):.4g}:{math.radians(hi):.4g}" if lo != hi else f"{math.radians(lo):.4g}"
    hint = (f"angles are in radians: {text} degrees is --{flag} {radians}" if lo >= 0 and hi <= 360
            else f"give --{flag} in radians, within {low:g} and {high:.4f}")
    raise UsageError(f"--{flag} {text}: outside the {flag}'s range, {low:g} to {high:.4f} rad", hint=hint)


@dataclass(frozen=True)
class FileLabels:
    """The labels (N, 6) of a file's first N events, and their source identities when the file has them
    (generated events carry them, so a generated event names the simulated event it answers)."""

    labels: np.ndarray
    ids: EventIds | None


def labels_from_file(path: Path, limit: int | None = None) -> FileLabels:
    with EventFile(path) as events:
        stop = events.n_events if not limit else min(limit, events.n_events)
        labels, ids = events.labels(0, stop), events.ids(0, stop)
    check_labels(path, labels)
    return FileLabels(labels, ids)


def labels_from_ranges(n: int, ranges: dict[str, tuple[float, float] | None], normalizer: Normalizer,
                       geometry: Geometry, rng: np.random.Generator) -> np.ndarray:
    half = math.sqrt(3) * normalizer.log_energy_std
    energy = ranges.get("energy")
    log_lo, log_hi = (math.log10(energy[0]), math.log10(energy[1])) if energy else \
        (normalizer.log_energy_mean - half, normalizer.log_energy_mean + half)
    zen = ranges.get("zenith") or (0.0, math.pi)
    az = ranges.get("azimuth") or (0.0, 2 * math.pi)
    extent = geometry.extent
    columns = [10 ** rng.uniform(log_lo, log_hi, n),
               np.arccos(rng.uniform(math.cos(zen[1]), math.cos(zen[0]), n)),
               rng.uniform(az[0], az[1], n)]
    for axis in ("x", "y", "z"):
        lo, hi = ranges.get(axis) or extent[axis]
        columns.append(rng.uniform(lo, hi, n))
    return np.stack(columns, axis=1)
