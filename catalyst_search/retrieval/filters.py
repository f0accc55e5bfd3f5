"""Turn the ``filters`` object of a search request into a validated ``FilterSpec``."""

from __future__ import annotations

from typing import Any

from catalyst_search.index.filters import Condition, FilterSpec, Match, Scalar

#: Payload fields a request may not filter on: the tenant comes from auth, text is not a key.
FORBIDDEN_KEYS = {"tenant_id", "text", "artifact_uri"}


class InvalidFilter(ValueError):
    """A filter the index cannot run; the message says which key and why."""


def _values(key: str, raw: Any) -> tuple[Scalar, ...]:
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise InvalidFilter(f"filters.{key}: give at least one value")
    for item in items:
        if not isinstance(item, str | int | bool) or item == "":
            raise InvalidFilter(
                f"filters.{key}: values must be non-empty strings, integers or booleans, "
                f"got {item!r}"
            )
    return tuple(items)


def parse_filters(raw: dict[str, Any] | None) -> FilterSpec:
    """``{"icd_codes": ["E11.9"], "chapter": "4", "source": "..."}`` -> all must match.

    A list means any of its values; on list payloads such as ``icd_codes`` a point matches when
    it carries at least one of them.
    """
    if not raw:
        return FilterSpec()
    must: list[Condition] = []
    for key, value in raw.items():
        if key in FORBIDDEN_KEYS:
            raise InvalidFilter(f"filters.{key}: this field cannot be filtered on")
        if not key or not all(part.isidentifier() for part in key.split(".")):
            raise InvalidFilter(f"filters: {key!r} is not a valid payload key")
        must.append(Match(key, _values(key, value)))
    return FilterSpec(must=tuple(must))
