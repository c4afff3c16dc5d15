"""'Did you mean ...?' for misspelt keys, choices and preset names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate most similar to ``word``, or None when nothing is reasonably close.

    Matching ignores case, so ``Early_Stoping_Patience`` still finds ``early_stopping_patience``;
    the candidate is returned in its own spelling.
    """
    by_lower = {c.lower(): c for c in candidates}
    match = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[match[0]] if match else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``"; did you mean X?"`` for the closest candidate, or an empty string."""
    match = closest(word, candidates)
    return f"; did you mean {match}?" if match else ""
