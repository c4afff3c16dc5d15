"""The base class of every settings model.

pydantic v2 ignores unknown keys by default — in nested models too — so a YAML typo such as
``early_stoping_patience`` would silently leave the default in force. Every settings model therefore
forbids extra keys, and assignment re-validates so that programmatic edits obey the same rules as
files. Two more lax conversions are closed: a float setting is never NaN or infinite (``--lr inf``
would train to NaN and blame the data), and a boolean is never a number (``batch_size: true`` is a
YAML slip, not 1).
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

#: Seeds initialise numpy's legacy RNG too, which takes 32 bits.
MAX_SEED = 2**32 - 1
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]


def accepts_bool(annotation: Any) -> bool:
    """Whether a field of this type may hold True/False (bool, Optional[bool], Literal[True], Any)."""
    if annotation is bool or annotation is Any:
        return True
    origin = get_origin(annotation)
    if origin is Annotated:
        return accepts_bool(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(accepts_bool(arg) for arg in get_args(annotation))
    if origin is Literal:
        return any(isinstance(arg, bool) for arg in get_args(annotation))
    return False


class StrictModel(BaseModel):
    """A settings section: unknown keys rejected, assignments validated, floats finite, booleans not numbers."""

    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        validate_default=True,
        allow_inf_nan=False,
    )

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and info.field_name is not None:
            field = cls.model_fields[info.field_name]
            if not accepts_bool(field.annotation):
                raise PydanticCustomError("genesis_boolean", "{value} is a boolean, not a valid value here "
                                          "(booleans are not numbers)", {"value": str(value).lower()})
        return value
