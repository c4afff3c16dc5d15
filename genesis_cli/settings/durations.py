"""Durations written as people write them: ``90s``, ``30m``, ``1.5h``, ``1h30m`` or plain seconds.

One parser for every time budget (``training.time_budget``, ``genesis train --time-budget``,
``genesis compare --budget``), so the spellings accepted are the same everywhere.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(hours?|h|minutes?|min|m|seconds?|sec|s)?(?![a-z])", re.IGNORECASE)
_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0}
DURATION_EXAMPLES = "90s, 30m, 1.5h, 1h30m or a number of seconds"


def parse_duration(text: str) -> float:
    """'30m' -> 1800.0; '1h30m' -> 5400.0; '45' -> 45.0 (seconds). ValueError when malformed."""
    compact = text.strip()
    total, position = 0.0, 0
    for match in _PART.finditer(compact):
        if compact[position:match.start()].strip() or match.end() == match.start():
            break
        unit = (match.group(2) or "s")[0].lower()
        total += float(match.group(1)) * _SECONDS[unit]
        position = match.end()
    if not compact or compact[position:].strip() or position == 0:
        raise ValueError(f"{text!r} is not a duration; write {DURATION_EXAMPLES}")
    return total


def _to_seconds(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError:
            raise PydanticCustomError("genesis_duration", "{value} is not a duration; write " + DURATION_EXAMPLES,
                                      {"value": repr(value)}) from None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isfinite(value):
        raise PydanticCustomError("genesis_duration", "{value} is not a finite duration", {"value": value})
    return value


#: Seconds (> 0), accepting '30m'-style text in YAML, --set and flags.
Duration = Annotated[float, BeforeValidator(_to_seconds), Field(gt=0)]
