"""Settings as text: one line per bad ``CATALYST_*`` variable; no secret, no URL password."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError


def without_credentials(value: object) -> object:
    """``redis://:pw@host/0`` -> ``redis://<redacted>@host/0``, and a ``password=`` query
    parameter (``postgresql://h/db?password=pw``) redacted too; anything else as it is."""
    if not isinstance(value, str) or "://" not in value:
        return value
    if "@" in value:
        scheme, _, rest = value.partition("://")
        value = f"{scheme}://<redacted>@{rest.rpartition('@')[2]}"
    return re.sub(r"(?i)((?:password|passwd|pwd)=)[^&]*", r"\1<redacted>", value)


def _shown(info: Any, value: object) -> str:
    """A bad value as an error may show it: never a secret, never a URL's credentials."""
    secret = info is not None and "SecretStr" in str(info.annotation)
    if secret or "@" in str(value):
        return "<redacted>"
    return repr(value)


def describe(exc: ValidationError, fields: dict[str, Any]) -> str:
    """``invalid configuration:`` and one line per problem naming the variable and the fix."""
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        if not field:  # a cross-field check: its message names the variables
            problems.append(error["msg"].removeprefix("Value error, "))
            continue
        info = fields.get(field)
        hint = f" ({info.description})" if info and info.description else ""
        problems.append(
            f"CATALYST_{field.upper()}={_shown(info, error.get('input'))}: {error['msg']}{hint}; "
            f"fix or unset CATALYST_{field.upper()}"
        )
    return "invalid configuration:\n  " + "\n  ".join(problems)
