"""Turn the ``filters`` object of a search request into a validated ``FilterSpec``."""

from __future__ import annotations

from typing import Any

from catalyst_search.index.filters import Condition, FilterSpec, Match, Scalar
from catalyst_search.index.schema import normalize_icd

#: Bounds on one request's filters: conditions in all, values per condition, value length.
MAX_CONDITIONS = 32
MAX_VALUES = 64
MAX_VALUE_CHARS = 256
#: ...except for the fields a document is known by: a path under a source root, a URL or an
#: ``s3://`` key can be as long as the source an ingest accepts
MAX_ID_CHARS = 4096
ID_KEYS = {"document_id", "source"}
#: Payload fields a request may not filter on: the tenant comes from auth, text is not a key.
FORBIDDEN_KEYS = {"tenant_id", "text", "artifact_uri"}


class InvalidFilter(ValueError):
    """A filter the index cannot run; the message says which key and why."""


def _values(key: str, raw: Any, max_chars: int) -> tuple[Scalar, ...]:
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise InvalidFilter(f"{key}: give at least one value")
    if len(items) > MAX_VALUES:
        raise InvalidFilter(f"{key}: at most {MAX_VALUES} values, got {len(items)}")
    for item in items:
        if not isinstance(item, str | int | bool) or item == "":
            raise InvalidFilter(
                f"{key}: values must be non-empty strings, integers or booleans, got {item!r:.80}"
            )
        if isinstance(item, int) and not -(2**63) <= item < 2**63:
            raise InvalidFilter(f"{key}: integers must fit in 64 bits")
        if isinstance(item, str) and len(item) > max_chars:
            raise InvalidFilter(f"{key}: values may be at most {max_chars} characters")
    return tuple(items)


#: Request keys that map onto another payload field.
ALIASES = {"icd_prefix": "icd_hierarchy"}
CLAUSES = ("must", "should", "must_not")


def _conditions(raw: dict[str, Any], where: str) -> tuple[Condition, ...]:
    found: list[Condition] = []
    for key, value in raw.items():
        if key in FORBIDDEN_KEYS or key == "icd_hierarchy":
            raise InvalidFilter(f"{where}.{key}: this field cannot be filtered on")
        if len(key) > 64 or not key or not all(p.isidentifier() for p in key.split(".")):
            raise InvalidFilter(f"{where}: {key!r:.80} is not a valid payload key")
        limit = MAX_ID_CHARS if key in ID_KEYS else MAX_VALUE_CHARS
        values = _values(f"{where}.{key}", value, limit)
        if key in ("icd_codes", "icd_prefix"):
            values = tuple(normalize_icd(str(v)) for v in values)
        found.append(Match(ALIASES.get(key, key), values))
    return tuple(found)


def parse_filters(raw: dict[str, Any] | None) -> FilterSpec:
    """Validate a request's ``filters`` object.

    ``{"icd_prefix": "E11", "chapter": "4", "must_not": {"source": "x"}}``: top-level keys and
    ``must`` must all match, at least one ``should`` must, no ``must_not`` may. A list means any
    of its values; on list payloads such as ``icd_codes`` a point matches when it carries one.
    ``icd_codes`` matches exact codes, ``icd_prefix`` a code and everything below it in the
    ICD-10 hierarchy (``E11`` matches ``E11.9``).
    """
    if not raw:
        return FilterSpec()
    top = {k: v for k, v in raw.items() if k not in CLAUSES}
    clauses: dict[str, tuple[Condition, ...]] = {}
    for clause in CLAUSES:
        body = raw.get(clause, {})
        if not isinstance(body, dict):
            raise InvalidFilter(f"filters.{clause}: expected an object of field: value(s)")
        clauses[clause] = _conditions(body, f"filters.{clause}")
    count = len(top) + sum(len(c) for c in clauses.values())
    if count > MAX_CONDITIONS:
        raise InvalidFilter(f"filters: at most {MAX_CONDITIONS} conditions, got {count}")
    return FilterSpec(
        must=_conditions(top, "filters") + clauses["must"],
        should=clauses["should"],
        must_not=clauses["must_not"],
    )
