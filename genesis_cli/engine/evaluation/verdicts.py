"""Verdicts: good, fair or poor for each metric, judged against its real-vs-real reference, and one
overall verdict.

Every metric is a distance (0 = identical). A value is
- good when it is within what statistics alone produce: at most ``noise_factor`` times the
  real-vs-real reference, or below a floor that no physicist would care about;
- poor when the difference is large: beyond the metric's fair limit and beyond the noise;
- fair in between: a real, small difference.
AUCs enter as |AUC - 0.5|, two-sided, with the classifier's statistical error (``null_sigma``) as
its noise. The overall verdict is FAIL if any metric is poor, PASS if all are good, and MARGINAL
otherwise; the failing metrics are named.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from genesis_cli.settings.evaluation import EvaluationConfig

GOOD, FAIR, POOR, UNKNOWN = "good", "fair", "poor", "n/a"


#: The kinds of distance judged, each with its rule in the evaluation settings (settings/evaluation.py).
DISTANCE_KINDS = ("w1", "separation", "binned_w1", "slope", "frechet", "auc")


def verdict(kind: str, value: float, reference: float, noise: float = 0.0,
            settings: EvaluationConfig | None = None) -> str:
    """The verdict on ``value`` given its real-vs-real ``reference`` (and, for AUCs, the noise sigma),
    by the rule the evaluation settings give ``kind``: (noise factor, floor, fair limit)."""
    if not math.isfinite(value):
        return UNKNOWN
    settings = settings or EvaluationConfig()
    noise_factor, floor, fair_limit = getattr(settings, kind)
    if kind == "auc":
        value, reference = abs(value - 0.5), abs(reference - 0.5) if math.isfinite(reference) else 0.0
        allowed = max(floor, reference + settings.auc_noise_sigmas * (noise if math.isfinite(noise) else 0.0))
    else:
        allowed = max(floor, noise_factor * reference) if math.isfinite(reference) else floor
    if value <= allowed:
        return GOOD
    return FAIR if value <= max(fair_limit, allowed) else POOR


@dataclass(frozen=True)
class Overall:
    verdict: str  # PASS, MARGINAL or FAIL
    poor: tuple[str, ...]
    fair: tuple[str, ...]

    @property
    def line(self) -> str:
        if self.verdict == "PASS":
            return "Verdict: PASS: every metric is within its real-vs-real reference"
        if not self.poor and not self.fair:
            return "Verdict: FAIL: no metric could be computed (too few events, or no hits)"
        worst = self.poor if self.poor else self.fair
        shown = ", ".join(worst[:5]) + (f" and {len(worst) - 5} more" if len(worst) > 5 else "")
        what = "poor" if self.poor else "fair"
        return f"Verdict: {self.verdict}: {len(worst)} {what} ({shown})"


def overall(verdicts: dict[str, str]) -> Overall:
    """The overall verdict from metric name -> verdict."""
    poor = tuple(name for name, v in verdicts.items() if v == POOR)
    fair = tuple(name for name, v in verdicts.items() if v == FAIR)
    judged = [v for v in verdicts.values() if v != UNKNOWN]
    if poor:
        return Overall("FAIL", poor, fair)
    if fair or not judged:
        return Overall("MARGINAL" if judged else "FAIL", poor, fair)
    return Overall("PASS", poor, fair)
