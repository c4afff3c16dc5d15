"""The evaluation section: how `genesis evaluate` judges generated events.

The judge's sizes and thresholds are settings like any other, so a physicist can tighten them in a
config file (``evaluation.auc: [3, 5, 0.01, 0.03]``) or with ``genesis evaluate --set ...`` and the
report says which values judged it. Defaults were calibrated on the toy simulation: the perfect
generator (the simulator on the same labels) and real-vs-real pass, and every case of
benchmarks/judge.py fails on the check it must (docs/performance.md, "The judge").

Two kinds of rule:
- a distance rule ``[noise factor, floor, fair limit]`` judges a distance (W1, separation, Frechet)
  against the same distance between real events at the test's own sample sizes;
- a significance rule ``[good sigmas, poor sigmas, floor, fair limit]`` judges a difference with a
  known standard error (an AUC from 0.5, a physics shift from 0): good within
  max(floor, good sigmas x error), poor beyond max(fair limit, poor sigmas x error), fair between.
  A large sample cannot fail on a difference below the fair limit; a small one cannot fail on noise.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from genesis_cli.settings.base import StrictModel

Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
#: A distance rule: good when at most noise factor x its real-vs-real reference, or below the floor;
#: poor beyond the fair limit (and not good); fair between.
Threshold = tuple[Positive, NonNegative, Positive]
#: A significance rule: (good sigmas, poor sigmas, floor, fair limit).
Significance = tuple[Positive, Positive, NonNegative, NonNegative]
#: A fraction rule: (good at most, poor beyond).
Fractions = tuple[Annotated[float, Field(ge=0, le=1)], Annotated[float, Field(ge=0, le=1)]]
RULE = " [noise factor, floor, fair limit]"
SIGNIFICANCE = " [good sigmas, poor sigmas, floor, fair limit]"

#: Keys of earlier versions, with what replaced them. A config file naming one gets this as its
#: error; a checkpoint's saved evaluation section drops them (the judge is not part of training).
RETIRED = {
    "classifier_epochs": "classifier_max_epochs and classifier_patience (each fold stops early on its inner fold)",
    "reference_splits": "reference_draws (real-vs-real references are drawn at the test's own sample sizes)",
    "auc_noise_sigmas": "auc, a significance rule [good sigmas, poor sigmas, floor, fair limit]",
}
#: Keys whose meaning or default changed with the sound judge: dropped from a checkpoint's saved section so
#: that the current judge's values apply; errors nowhere (the new form validates).
REDEFINED = ("auc", "classifier_learning_rate", "w1", "separation", "binned_w1", "slope", "frechet")


def drop_retired(section: dict[str, Any]) -> dict[str, Any]:
    """A saved evaluation section without retired or redefined keys (their current defaults apply)."""
    return {k: v for k, v in section.items() if k not in RETIRED and k not in REDEFINED}


class EvaluationConfig(StrictModel):
    """How generated events are judged: classifier two-sample tests, references, physics shifts, copies."""

    min_events: int = Field(100, gt=0, description="Fewer generated or real events than this: the verdict is "
                                                   "TOO FEW EVENTS instead of a judgement.")
    classifier_hidden: int = Field(64, gt=0, description="Width of the classifier's two hidden layers.")
    classifier_max_epochs: int = Field(60, gt=0, description="Most epochs of each classifier fold.")
    classifier_patience: int = Field(6, gt=0, description="A fold stops after this many epochs without a lower "
                                                         "loss on its inner validation fold (its best epoch is kept).")
    classifier_batch_size: int = Field(256, gt=0, description="Events per classifier step.")
    classifier_learning_rate: float = Field(2e-3, gt=0, description="Adam learning rate of the classifiers.")
    classifier_folds: int = Field(5, ge=3, description="Cross-validation folds, grouped by label vector so that "
                                                       "events paired by their labels never straddle two folds.")
    dom_events: int = Field(5000, gt=0, description="Events per file the per-DOM classifier and the near-copy "
                                                    "search see at most.")
    reference_draws: int = Field(12, gt=0, description="Real-vs-real draws at the test's sample sizes averaged for "
                                                      "each distance's reference.")
    bootstrap: int = Field(200, ge=20, description="Bootstrap resamples behind each physics shift's standard error.")
    w1: Threshold = Field((4.0, 0.02, 0.05), description="Observables' W1 of the probability integral "
                                                          "transform:" + RULE)
    hit_w1: Threshold = Field((8.0, 0.02, 0.05), description="W1 of the per-hit samples (npe and times of hits): "
                                                              "a few bright events hold most hits, so its noise has "
                                                              "a long tail:" + RULE)
    separation: Threshold = Field((5.0, 0.01, 0.05), description="Observables' histogram separation:" + RULE)
    binned_w1: Threshold = Field((4.0, 0.03, 0.08), description="W1 in the worst energy or zenith bin:" + RULE)
    slope: Threshold = Field((4.0, 0.05, 0.1), description="|difference| of the charge-vs-energy slope:" + RULE)
    frechet: Threshold = Field((4.0, 0.1, 1.0), description="Frechet distance of the high-level features:" + RULE)
    auc: Significance = Field((3.0, 5.0, 0.02, 0.05), description="|AUC - 0.5| of the classifiers, in units of the "
                                                                  "AUC's statistical error at the test's size:" + SIGNIFICANCE)
    energy_scale: Significance = Field((3.0, 5.0, 0.02, 0.05), description="Generated over simulated charge at the "
                                                                           "same labels, minus 1:" + SIGNIFICANCE)
    time_offset_ns: Significance = Field((3.0, 5.0, 1.0, 2.0), description="Shift of the light onset at the vertex "
                                                                           "(ns):" + SIGNIFICANCE)
    time_spread_ns: Significance = Field((3.0, 5.0, 1.0, 2.0), description="Extra (or missing) spread of the light "
                                                                           "onset, in quadrature (ns):" + SIGNIFICANCE)
    direction_deg: Significance = Field((3.0, 5.0, 2.0, 5.0), description="Shift of the median LineFit angle to the "
                                                                          "labelled direction (deg):" + SIGNIFICANCE)
    azimuth_deg: Significance = Field((3.0, 5.0, 3.0, 10.0), description="Shift of the circular mean of the "
                                                                         "LineFit azimuth minus the labelled azimuth "
                                                                         "(deg):" + SIGNIFICANCE)
    cog_offset_m: Significance = Field((3.0, 5.0, 3.0, 8.0), description="Shift of the charge CoG from the vertex, "
                                                                         "along and across the labelled direction "
                                                                         "(m):" + SIGNIFICANCE)
    copies: Fractions = Field((0.002, 0.01), description="Generated events that copy a real (or training) event, "
                                                         "exactly or nearly: [good at most, poor beyond].")
    duplicates: Fractions = Field((0.002, 0.01), description="Generated events that repeat another generated event, "
                                                             "exactly or nearly: [good at most, poor beyond].")
    near_copy: tuple[Annotated[float, Field(gt=0, le=1)], Positive, Positive] = Field(
        (0.9, 1.0, 0.05), description="Two events are near copies when their hit DOMs overlap by at least this "
                                      "Jaccard index and, on the shared DOMs, the median |time difference| (ns) and "
                                      "median |log npe difference| are within these.")
    memorisation: Significance = Field((3.0, 5.0, 0.02, 0.05), description="--training-data: how much closer the "
                                                                           "generated events lie to training events "
                                                                           "than held-out simulation does, as "
                                                                           "|AUC - 0.5| of the two nearest-neighbour "
                                                                           "distance samples:" + SIGNIFICANCE)
    training_events: int = Field(200_000, gt=0, description="--training-data: events of the training file searched "
                                                            "at most.")

    @model_validator(mode="before")
    @classmethod
    def _retired_keys(cls, values: Any) -> Any:
        if isinstance(values, dict):
            for key, replacement in RETIRED.items():
                if key in values:
                    raise PydanticCustomError("genesis_retired", "retired; use {replacement}",
                                              {"replacement": replacement, "at": key})
        return values
