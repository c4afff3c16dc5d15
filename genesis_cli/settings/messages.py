"""Readable one-line messages for settings validation errors.

pydantic's default rendering is multi-line, names internal types and ends in a URL. Users need one
line per problem naming the dotted key, what is wrong, where it was set and — for a typo — the
closest valid key:

    my.yaml:7: training.early_stoping_patience: unknown key; did you mean early_stopping_patience?
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from genesis_cli.errors import ConfigError
from genesis_cli.settings.layers import origin_of
from genesis_cli.settings.suggestions import closest

Model = TypeVar("Model", bound=BaseModel)
VALIDATION_HINT = "`genesis config show` prints every valid key with its default"

#: Our own error types already say what they got; pydantic's get "(got ...)" appended.
_CUSTOM_PREFIX = "genesis_"
#: Context key by which a section-level rule names the field it is about (``{"at": "heads"}``),
#: so the message and its file line point at that key rather than at the section.
FIELD_CONTEXT_KEY = "at"


def dotted(loc: tuple[int | str, ...]) -> str:
    """``('model', 'kernel_sizes', 1)`` -> ``model.kernel_sizes[1]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def section_model(root: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The settings model at ``loc`` below ``root`` (None where loc is not a section)."""
    model: type[BaseModel] = root
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def error_lines(exc: ValidationError, root: type[BaseModel],
                origins: Mapping[str, str] | None = None) -> list[str]:
    """One message per validation error, prefixed by the origin of the offending value."""
    lines = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        at = (error.get("ctx") or {}).get(FIELD_CONTEXT_KEY)
        if at:
            loc += (at,)
        path = dotted(loc) or "config"
        if error["type"] == "extra_forbidden":
            key = str(loc[-1])
            parent = section_model(root, loc[:-1])
            valid = list(parent.model_fields) if parent else []
            match = closest(key, valid)
            if match:
                text = f"{path}: unknown key; did you mean {match}?"
            else:
                text = f"{path}: unknown key; valid keys here: {', '.join(valid)}"
        else:
            message = error["msg"]
            message = message[0].lower() + message[1:]
            text = f"{path}: {message}"
            scalar_input = not isinstance(error.get("input"), (dict, list))
            if not error["type"].startswith(_CUSTOM_PREFIX) and scalar_input and "input" in error:
                text += f" (got {_describe(error['input'])})"
        origin = origin_of(dotted(tuple(p for p in loc if not isinstance(p, int))), origins or {})
        lines.append(f"{origin}: {text}" if origin else text)
    return lines


def validate(model: type[Model], values: Mapping[str, Any], origins: Mapping[str, str] | None = None,
             hint: str | None = VALIDATION_HINT) -> Model:
    """``model.model_validate(values)``, raising ConfigError with one readable line per problem."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(error_lines(exc, model, origins), hint=hint) from exc
