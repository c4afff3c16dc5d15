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


def choice(*options: str, noun: str = "value") -> Any:
    """A pydantic type accepting exactly ``options`` (any casing), stored in canonical spelling; an unknown
    value is refused as "unknown ``noun`` 'x'; choose a, b or c".

    Example: ``optimizer: choice("AdamW", "Adam", "SGD", noun="optimizer") = "AdamW"``.
    """
    canonical = {o.lower(): o for o in options}

    def normalise(value: Any) -> Any:
        if isinstance(value, str):
            key = value.strip().lower()
            if key in canonical:
                return canonical[key]
            raise PydanticCustomError(
                "genesis_choice",
                "unknown {noun} {value}; choose {options}{hint}",
                {"noun": noun, "value": repr(value), "options": one_of(options), "hint": did_you_mean(value, options)},
            )
        return value  # non-strings fall through to the Literal check, which names the type

    return Annotated[Literal[options], BeforeValidator(normalise)]  # type: ignore[valid-type]


def one_of(options: tuple[str, ...] | list[str]) -> str:
    """``a, b or c``: a choice's options as a sentence lists them."""
    return options[0] if len(options) == 1 else f"{', '.join(options[:-1])} or {options[-1]}"
