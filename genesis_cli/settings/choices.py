"""Case-insensitive choice fields with readable errors.

Users write ``fusion: film`` or ``optimizer: adamw`` as often as the canonical ``FiLM`` / ``AdamW``
of the guide. A choice field accepts any casing, stores the canonical spelling, and rejects an
unknown value with the list of valid ones and the closest match — never a silent fallback (the
original scripts quietly replaced unknown beta schedules by 'linear').
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from genesis_cli.settings.suggestions import did_you_mean


def choice(*options: str) -> Any:
    """A pydantic type accepting exactly ``options`` (any casing), stored in canonical spelling.

    Example: ``optimizer: choice("AdamW", "Adam", "SGD") = "AdamW"``.
    """
    canonical = {o.lower(): o for o in options}

    def normalise(value: Any) -> Any:
        if isinstance(value, str):
            key = value.strip().lower()
            if key in canonical:
                return canonical[key]
            raise PydanticCustomError(
                "genesis_choice",
                "{value} is not one of {options}{hint}",
                {"value": repr(value), "options": ", ".join(options), "hint": did_you_mean(value, options)},
            )
        return value  # non-strings fall through to the Literal check, which names the type

    return Annotated[Literal[options], BeforeValidator(normalise)]  # type: ignore[valid-type]
