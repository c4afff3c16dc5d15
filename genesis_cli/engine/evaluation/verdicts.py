"""Verdicts: good, fair or poor for each check, and one overall verdict.

Two kinds of check (settings/evaluation.py has the rules and their defaults):
- distances (W1, separation, Frechet, slope), judged against the same distance between real
  events at the test's own sample sizes: good within ``noise_factor`` x that reference or below a
  floor no physicist would care about, poor beyond the fair limit and the noise, fair between;
- differences with a known standard error (an AUC from 0.5, a physics shift from 0), judged by
  their size and their significance z: good when below the floor or within ``good_sigmas``, poor
  when beyond the fair limit *and* beyond ``poor_sigmas``, fair between. A large sample cannot fail
  on a difference too small to matter; a small one cannot fail on noise.
Copies and duplicates are judged as fractions of the generated events (copies.py).
The overall verdict is FAIL if any check is poor, PASS if all are good, MARGINAL otherwise, and
TOO FEW EVENTS when either sample is below ``evaluation.min_events``; the line names the checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from genesis_cli.settings.evaluation import EvaluationConfig, Significance

GOOD, FAIR, POOR, UNKNOWN = "good", "fair", "poor", "n/a"
PASS, MARGINAL, FAIL, TOO_FEW = "PASS", "MARGINAL", "FAIL", "TOO FEW EVENTS"

#: The kinds of distance judged, each with its rule in the evaluation settings (settings/evaluation.py).
DISTANCE_KINDS = ("w1", "hit_w1", "separation", "binned_w1", "slope", "frechet")


def verdict(kind: str, value: float, reference: float, settings: EvaluationConfig | None = None) -> str:
    """The verdict on a distance ``value`` given its real-vs-real ``reference`` at the test's sizes, by
    the rule the evaluation settings give ``kind``: (noise factor, floor, fair limit). Without a reference
    (real-vs-real draws too small to fill a bin the test fills) it is not judged: a distance means nothing
    without what simulation itself shows at these sizes."""
    if not (math.isfinite(value) and math.isfinite(reference)):
        return UNKNOWN
    noise_factor, floor, fair_limit = getattr(settings or EvaluationConfig(), kind)
    allowed = max(floor, noise_factor * reference)
    if value <= allowed:
        return GOOD
    return FAIR if value <= max(fair_limit, allowed) else POOR


def significance_verdict(size: float, z: float, rule: Significance) -> str:
    """The verdict on a difference of magnitude ``size`` that lies ``z`` standard errors from zero."""
    if not (math.isfinite(size) and math.isfinite(z)):
        return UNKNOWN
    good_sigmas, poor_sigmas, floor, fair_limit = rule
    size, z = abs(size), abs(z)
    if size <= floor or z <= good_sigmas:
        return GOOD
    return POOR if size > fair_limit and z > poor_sigmas else FAIR


def fraction_verdict(fraction: float, rule: tuple[float, float]) -> str:
    """The verdict on the share of generated events that are copies or duplicates."""
    if not math.isfinite(fraction):
        return UNKNOWN
    good, poor = rule
    return GOOD if fraction <= good else POOR if fraction > poor else FAIR


@dataclass(frozen=True)
class Overall:
    verdict: str  # PASS, MARGINAL, FAIL or TOO FEW EVENTS
    poor: tuple[str, ...]
    fair: tuple[str, ...]
    headline: str = ""  # the most telling finding, first in the line (memorised, low diversity, ...)

    @property
    def line(self) -> str:
        if self.verdict == TOO_FEW:
            return f"Verdict: {TOO_FEW} to judge: {self.headline}"
        if self.verdict == PASS:
            return "Verdict: PASS: every check is within what simulation itself shows at these sample sizes"
        if not self.poor and not self.fair:
            return "Verdict: FAIL: no check could be computed (too few events, or no hits)"
        worst = self.poor if self.poor else self.fair
        shown = ", ".join(worst[:5]) + (f" and {len(worst) - 5} more" if len(worst) > 5 else "")
        what = "poor" if self.poor else "fair"
        lead = f"{self.headline}; " if self.headline else ""
        return f"Verdict: {self.verdict}: {lead}{len(worst)} {what} ({shown})"


def overall(verdicts: dict[str, str], headline: str = "") -> Overall:
    """The overall verdict from check name -> verdict (in the order the line should name them)."""
    poor = tuple(name for name, v in verdicts.items() if v == POOR)
    fair = tuple(name for name, v in verdicts.items() if v == FAIR)
    judged = [v for v in verdicts.values() if v != UNKNOWN]
    if poor:
        return Overall(FAIL, poor, fair, headline)
    if fair or not judged:
        return Overall(MARGINAL if judged else FAIL, poor, fair, headline if fair else "")
    return Overall(PASS, poor, fair)


def too_few(n_real: int, n_generated: int, settings: EvaluationConfig) -> Overall | None:
    """TOO FEW EVENTS when either sample is below ``settings.min_events``, else None."""
    if min(n_real, n_generated) >= settings.min_events:
        return None
    which = "generated" if n_generated < settings.min_events else "real"
    count = n_generated if which == "generated" else n_real
    events = "event" if count == 1 else "events"
    return Overall(TOO_FEW, (), (), f"{count:,} {which} {events}; the judge needs at least {settings.min_events:,} "
                                    "(evaluation.min_events)")
