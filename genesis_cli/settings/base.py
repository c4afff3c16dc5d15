"""The base class of every settings model.

pydantic v2 ignores unknown keys by default — in nested models too — so a YAML typo such as
``early_stoping_patience`` would silently leave the default in force. Every settings model therefore
forbids extra keys, and assignment re-validates so that programmatic edits obey the same rules as
files.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A settings section: unknown keys rejected, assignments validated."""

    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        validate_default=True,
    )
