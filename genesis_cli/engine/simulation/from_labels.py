"""The simulator on another file's labels: `genesis simulate OUT.h5 --labels-from FILE.h5`.

Two uses. It is the perfect generator: the simulation itself, run again with a new seed on the
labels of a held-out file, is what an ideal model would produce, so `genesis evaluate` must PASS it
(the judge's calibration, benchmarks/judge.py). And it gives simulation for the labels of generated
events, so that a user can look at the two side by side.

What is taken from the labels file, so that "the same simulation" means the same detector:
- the labels (N, 6), in order;
- the detector: the file's DOM positions, with the built-in detector's relative efficiencies when
  the positions are the built-in detector's (in any DOM order); ``--geometry`` replaces it;
- for a file written by `genesis simulate` (its ``simulation_config`` attribute): the kind of events
  it holds and the detector response (light yield, noise, readout window, timing, charge), so the
  new events differ from the file's only by chance.
Each event's kind is drawn again (``mixed``: cascade or track with equal probability), as is
everything else the labels do not fix (inelasticity, photons, noise): a generator conditioned on
the six labels cannot know them either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from genesis_cli.engine.data.eventfile import EventFile, EventIds, check_labels
from genesis_cli.engine.detector import Geometry, icecube86_geometry, with_known_response
from genesis_cli.settings.simulation import RESPONSE_FIELDS


@dataclass(frozen=True)
class LabelledConditions:
    """What to simulate: labels (N, 6), the detector, and the source's simulation settings (its kind
    and detector response; empty unless `genesis simulate` wrote it)."""

    source: Path
    labels: np.ndarray
    geometry: Geometry
    settings: dict[str, Any]
    ids: EventIds | None = None  # the source's event identities, carried to the simulated file

    @property
    def events(self) -> int:
        return len(self.labels)


def read_conditions(path: Path, *, limit: int | None = None, geometry: Geometry | None = None) -> LabelledConditions:
    """The labels of the first ``limit`` events (None: all) of ``path``, its detector and its simulation settings."""
    with EventFile(path) as events:
        stop = events.n_events if limit is None else min(limit, events.n_events)
        labels, ids = events.labels(0, stop), events.ids(0, stop)
        detector = geometry or with_known_response(events.geometry, icecube86_geometry())
        settings = _recorded_settings(events.attributes())
    check_labels(path, labels)
    return LabelledConditions(path, labels, detector, settings, ids)


def _recorded_settings(attributes: dict[str, Any]) -> dict[str, Any]:
    """The kind and detector-response settings of a file written by `genesis simulate` ({} for any other file)."""
    try:
        saved = json.loads(attributes.get("simulation_config", "{}"))
    except (TypeError, ValueError):
        return {}
    return {key: saved[key] for key in ("kind", *RESPONSE_FIELDS) if isinstance(saved, dict) and key in saved}
