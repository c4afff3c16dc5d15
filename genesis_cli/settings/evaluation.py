"""The evaluation section: how `genesis evaluate` judges generated events.

The judge's sizes and thresholds are settings like any other, so a physicist can tighten them in a
config file (``evaluation.auc: [1.0, 0.03, 0.2]``) or with ``genesis evaluate --set ...`` and the
report says which values judged it. Defaults were calibrated on the toy simulation: real-vs-real
passes, and each distortion of benchmarks/judge.py fails (docs/performance.md, "Fidelity").
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from genesis_cli.settings.base import StrictModel

#: A verdict rule: (noise factor, floor, fair limit). A distance is good when at most noise factor x
#: its real-vs-real reference, or below the floor; poor beyond the fair limit (and not good); fair between.
Threshold = tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(ge=0)], Annotated[float, Field(gt=0)]]
RULE = " [noise factor, floor, fair limit]"


class EvaluationConfig(StrictModel):
    """How generated events are judged: the classifier two-sample test and the verdict thresholds."""

    classifier_hidden: int = Field(64, gt=0, description="Width of the classifier's two hidden layers.")
    classifier_epochs: int = Field(8, gt=0, description="Epochs of each classifier fold.")
    classifier_batch_size: int = Field(256, gt=0, description="Events per classifier step.")
    classifier_learning_rate: float = Field(1e-3, gt=0, description="Adam learning rate of the classifiers.")
    classifier_folds: int = Field(5, ge=2, description="Cross-validation folds: every event is scored once.")
    dom_events: int = Field(5000, gt=0, description="Events per file the per-DOM classifier sees at most.")
    reference_splits: int = Field(8, gt=0, description="Random halves of the real file averaged for each "
                                                        "real-vs-real reference.")
    auc_noise_sigmas: float = Field(4.0, ge=0, description="An AUC is good within this many null sigmas of its "
                                                           "reference (the folds share events).")
    w1: Threshold = Field((3.0, 0.02, 0.05), description="Observables' W1 of the probability integral "
                                                          "transform:" + RULE)
    separation: Threshold = Field((3.0, 0.01, 0.05), description="Observables' histogram separation:" + RULE)
    binned_w1: Threshold = Field((3.0, 0.03, 0.08), description="W1 in the worst energy or zenith bin:" + RULE)
    slope: Threshold = Field((3.0, 0.05, 0.1), description="|difference| of the charge-vs-energy slope:" + RULE)
    frechet: Threshold = Field((3.0, 0.1, 1.0), description="Frechet distance of the high-level features:" + RULE)
    auc: Threshold = Field((1.0, 0.05, 0.25), description="|AUC - 0.5| of the classifiers (noise factor unused: "
                                                          "the noise is auc_noise_sigmas):" + RULE)
