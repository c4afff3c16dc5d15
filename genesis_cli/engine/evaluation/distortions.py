"""Known ways a generator goes wrong, built on simulation: what the judge must catch, and what it must pass.

Every case starts from simulation, so the truth is known. ``JudgeInputs`` holds a reference file's
events (the "real" file), the *twin*: the simulator run again on the reference's own labels with
another seed (the perfect generator, as the fidelity benchmark pairs generated with real
labels), and an *independent* simulation (other labels, other seed). Signals are (N, 2, L)
[npe, time ns] with no-hit DOMs at npe 0 and time inf; labels (N, 6).

``CASES`` lists each case with the verdict it must get and, for a failure, the check that must
name it: the perfect generator and smaller samples of it must PASS; copies of the reference must
FAIL as memorised, repeated events as low diversity; light-yield, time, direction and energy errors
must FAIL on the physics shift that measures them; events paired with the wrong labels, lost and
extra hits must FAIL on the check that sees them. tests/test_evaluation.py asserts every case;
`benchmarks/judge.py` prints the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from genesis_cli.engine.detector import Geometry
from genesis_cli.engine.evaluation.copies import COPIES, DUPLICATES
from genesis_cli.engine.evaluation.reference import HIGH_AUC
from genesis_cli.engine.evaluation.shifts import (
    AZIMUTH,
    BINNED_TIME_OFFSET,
    DIRECTION,
    ENERGY_SCALE,
    TIME_OFFSET,
    TIME_SPREAD,
)
from genesis_cli.engine.evaluation.verdicts import FAIL, PASS, TOO_FEW, Overall
from genesis_cli.engine.simulation.simulator import EventSimulator
from genesis_cli.settings.simulation import SimulationConfig

Events = tuple[np.ndarray, np.ndarray]  # signals (N, 2, L), labels (N, 6)
Distortion = Callable[[np.ndarray, np.ndarray, np.random.Generator], Events]

TIME_SHIFT_NS = 20.0
CHARGE_SCALE = 1.3
DROPPED_FRACTION = 0.1
EXTRA_HIT_FRACTION = 0.2
READOUT_WINDOW_NS = (6_000.0, 16_000.0)  # where extra noise-like hits land (the toy readout's span)
FLAGGED = "flagged"  # a case that must not PASS, with its check poor or fair
NEAR_COPY = (0.01, 0.5)  # near copies: npe within +-1%, times within +-0.5 ns


def shuffled_labels(signals: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Events:
    """Each event paired with another event's labels: a generator that ignores its labels."""
    return signals, labels[rng.permutation(len(labels))]


def zenith_flipped(signals: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Events:
    """Up-going labelled as down-going and vice versa: a generator with the direction backwards."""
    flipped = labels.copy()
    flipped[:, 1] = np.pi - flipped[:, 1]
    return signals, flipped


def times_shifted(shift_ns: float) -> Distortion:
    """Every hit ``shift_ns`` late (no-hit DOMs stay at inf)."""
    def distort(signals: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Events:
        late = signals.copy()
        late[:, 1] += shift_ns
        return late, labels
    return distort


def times_shifted_above(energy_gev: float, shift_ns: float) -> Distortion:
    """The hits of events above ``energy_gev`` ``shift_ns`` late: an onset right on average over the
    file and wrong at high energies (what the per-bin time offset is for)."""
    def distort(signals: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Events:
        late = signals.copy()
        late[labels[:, 0] > energy_gev, 1] += shift_ns
        return late, labels
    return distort


def times_jittered(sigma_ns: float) -> Distortion:
    """Every hit time smeared by a further Gaussian of ``sigma_ns``: a timing resolution too coarse."""
    def distort(signals: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Events:
        smeared = signals.copy()
        smeared[:, 1] += (sigma_ns * rng.standard_normal(smeared[:, 1].shape)).astype(smeared.dtype)
        return smeared, labels
    return distort


def charges_scaled(scale: float) -> Distortion:
    """Every charge ``scale`` times too high: a wrong light yield."""
    def distort(signals: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Events:
        brighter = signals.copy()
        brighter[:, 0] *= scale
        return brighter, labels
    return distort


def hits_dropped(signals: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Events:
    """10% of the hits lost at random."""
    fewer = signals.copy()
    drop = (fewer[:, 0] > 0) & (rng.random(fewer[:, 0].shape) < DROPPED_FRACTION)
    fewer[:, 0][drop], fewer[:, 1][drop] = 0.0, np.inf
    return fewer, labels


def extra_weak_hits(signals: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Events:
    """20% more hits, of 1 PE each, on empty DOMs at times uniform over the readout window."""
    more = signals.copy()
    hit = more[:, 0] > 0
    share = EXTRA_HIT_FRACTION * hit.sum(axis=1, keepdims=True) / np.maximum((~hit).sum(axis=1, keepdims=True), 1)
    add = ~hit & (rng.random(hit.shape) < share)
    more[:, 0][add], more[:, 1][add] = 1.0, rng.uniform(*READOUT_WINDOW_NS, int(add.sum()))
    return more, labels


def near_copy(signals: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Events:
    """Each event barely changed: npe within +-1%, hit times within +-0.5 ns (a memorised event, disguised)."""
    npe_step, time_step = NEAR_COPY
    copied = signals.copy()
    copied[:, 0] *= (1.0 + rng.uniform(-npe_step, npe_step, copied[:, 0].shape)).astype(copied.dtype)
    copied[:, 1] += rng.uniform(-time_step, time_step, copied[:, 1].shape).astype(copied.dtype)
    return copied, labels


def second_half_repeats_first(signals: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Events:
    """The second half of the events (and their labels) a copy of the first half: half the diversity."""
    half = len(signals) // 2
    order = np.concatenate([np.arange(len(signals) - half), np.arange(half)])
    return signals[order], labels[order]


@dataclass(frozen=True)
class JudgeInputs:
    """What the cases are built from (see the module docstring)."""

    real: Events
    twin: Events
    independent: Events
    resimulate: Callable[[np.ndarray], np.ndarray]  # simulated signals for these labels (N, 6)
    rng: np.random.Generator


def _rotated_azimuth(inputs: JudgeInputs, degrees: float = 30.0) -> Events:
    """Events simulated with the azimuth 30 degrees off, written with the right labels."""
    labels = inputs.real[1].copy()
    labels[:, 2] = np.mod(labels[:, 2] + np.radians(degrees), 2 * np.pi)
    return inputs.resimulate(labels), inputs.real[1]


def _scaled_energy(inputs: JudgeInputs, scale: float = 1.2) -> Events:
    """Events simulated with 20% more energy than their labels say."""
    labels = inputs.real[1].copy()
    labels[:, 0] *= scale
    return inputs.resimulate(labels), inputs.real[1]


def _half_copied(inputs: JudgeInputs) -> Events:
    """The first half copies of the reference's events, the rest the perfect generator's."""
    half = len(inputs.twin[0]) // 2
    return (np.concatenate([inputs.real[0][:half], inputs.twin[0][half:]]),
            np.concatenate([inputs.real[1][:half], inputs.twin[1][half:]]))


@dataclass(frozen=True)
class Case:
    """A generated sample to judge against the reference: the verdict it must get, and for a failure
    the check that must be among the poor ones (a flagged case: poor or fair)."""

    name: str
    make: Callable[[JudgeInputs], Events]
    expect: str  # PASS, FAIL or FLAGGED (not PASS, with ``check`` poor or fair)
    check: str = ""
    events: int | None = None  # judge only the first this many events (None: all)

    def met_by(self, judged: Overall) -> bool:
        """Whether the judge's verdict is the one this case must get, naming the check it must."""
        if self.expect == PASS:
            return judged.verdict == PASS or (self.events is not None and judged.verdict == TOO_FEW)
        if self.expect == FAIL:
            return judged.verdict == FAIL and self.check in judged.poor
        return judged.verdict != PASS and (self.check in judged.poor or self.check in judged.fair)


def _on(sample: str, distort: Distortion) -> Callable[[JudgeInputs], Events]:
    return lambda inputs: distort(*getattr(inputs, sample), inputs.rng)



#: The judge's calibration: every case with the verdict it must get (issue 24's table, then issue 11's list).
CASES: tuple[Case, ...] = (
    Case("perfect generator (same labels)", lambda inputs: inputs.twin, PASS),
    Case("exact copy of the real file", lambda inputs: inputs.real, FAIL, COPIES),
    Case("near copy (npe +-1%, t +-0.5 ns)", _on("real", near_copy), FAIL, COPIES),
    Case("half copied", _half_copied, FAIL, COPIES),
    Case("half of the events duplicated", _on("twin", second_half_repeats_first), FAIL, DUPLICATES),
    Case("npe x1.1", _on("twin", charges_scaled(1.1)), FAIL, ENERGY_SCALE),
    Case("3 ns extra time jitter", _on("twin", times_jittered(3.0)), FLAGGED, TIME_SPREAD),
    Case("hit times +5 ns", _on("twin", times_shifted(5.0)), FAIL, TIME_OFFSET),
    Case("hit times +10 ns", _on("twin", times_shifted(10.0)), FAIL, TIME_OFFSET),
    Case("hit times +10 ns above 2e5 GeV only", _on("twin", times_shifted_above(2e5, 10.0)), FAIL, BINNED_TIME_OFFSET),
    Case("azimuth +30 deg", _rotated_azimuth, FAIL, AZIMUTH),
    Case("energy x1.2", _scaled_energy, FAIL, ENERGY_SCALE),
    Case("500 events, undistorted", lambda inputs: inputs.twin, PASS, events=500),
    Case("200 events, undistorted", lambda inputs: inputs.twin, PASS, events=200),
    Case("labels shuffled between events", _on("independent", shuffled_labels), FAIL, HIGH_AUC),
    Case("zenith label flipped", _on("independent", zenith_flipped), FAIL, DIRECTION),
    Case("hit times +20 ns", _on("independent", times_shifted(TIME_SHIFT_NS)), FAIL, TIME_OFFSET),
    Case("npe x1.3", _on("independent", charges_scaled(CHARGE_SCALE)), FAIL, ENERGY_SCALE),
    Case("10% of hits dropped", _on("independent", hits_dropped), FAIL, "hits_residual W1"),
    Case("20% extra 1-PE hits", _on("independent", extra_weak_hits), FAIL, "n_hit W1"),
)


def simulated_inputs(events: int, seed: int, geometry: Geometry, config: SimulationConfig | None = None,
                     distortion_seed: int = 5) -> JudgeInputs:
    """The reference (``seed``), its twin (the reference's labels, seed + 1), an independent
    simulation (seed + 2), all of ``events`` events, and the resimulation the label errors use (seed + 3)."""
    base = config or SimulationConfig()

    def run(run_seed: int, labels: np.ndarray | None = None) -> Events:
        simulator = EventSimulator(geometry, base.model_copy(update={"events": events, "seed": run_seed}))
        batches = list(simulator.batches(events) if labels is None else simulator.batches_for(labels))
        labels_written = np.concatenate([b.labels for b in batches]).astype(np.float32)  # as event files store them
        return np.concatenate([b.signals for b in batches]), labels_written

    real = run(seed)
    return JudgeInputs(real, (run(seed + 1, real[1])[0], real[1]), run(seed + 2),
                       lambda labels: run(seed + 3, labels)[0], np.random.default_rng(distortion_seed))
