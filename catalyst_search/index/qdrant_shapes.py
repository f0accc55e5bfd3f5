"""What both Qdrant backends build alike: payload filters, leg vectors and payload indexes.

qdrant-client's ``models`` and ``qdrant_edge`` describe the same Qdrant shapes with different
constructors. Each backend names its constructors once (a ``QdrantModels``) and the shapes are
built here, so a filter means the same thing on the embedded and the server backend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from catalyst_search.index.contract import HybridQuery
from catalyst_search.index.filters import Condition, FilterSpec, Range
from catalyst_search.index.schema import DENSE_VECTOR, KEYWORD_INDEXES, SparseVec

IndexKind = Literal["tenant", "keyword", "integer"]


@dataclass(frozen=True)
class QdrantModels:
    """One backend's constructors for the shapes built here."""

    match_value: Callable[[Any], Any]
    match_any: Callable[[list[Any]], Any]
    range: Callable[[float | None, float | None], Any]
    #: FieldCondition(key, match=..., range=...): one of the two is None
    field: Callable[[str, Any, Any], Any]
    #: Filter(must, must_not, should): each a list or None
    filter: Callable[[list[Any] | None, list[Any] | None, list[Any] | None], Any]
    sparse_vector: Callable[[list[int], list[float]], Any]


def _condition(condition: Condition, m: QdrantModels) -> Any:
    if isinstance(condition, Range):
        return m.field(condition.key, None, m.range(condition.gte, condition.lt))
    values = list(condition.values)
    if len(values) == 1:
        return m.field(condition.key, m.match_value(values[0]), None)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return m.field(condition.key, m.match_any([int(v) for v in values]), None)
    return m.field(condition.key, m.match_any([str(v) for v in values]), None)


def to_filter(flt: FilterSpec, m: QdrantModels) -> Any | None:
    """The backend's filter for ``flt``; None when it filters nothing."""
    if flt.empty:
        return None
    return m.filter(
        [_condition(c, m) for c in flt.must] or None,
        [_condition(c, m) for c in flt.must_not] or None,
        [_condition(c, m) for c in flt.should] or None,
    )


def leg_vectors(query: HybridQuery, m: QdrantModels) -> list[tuple[str, Any]]:
    """(vector name, backend vector) of each leg: dense first, then sparse."""
    return [
        (name, m.sparse_vector(vec.indices, vec.values) if isinstance(vec, SparseVec) else vec)
        for name, vec in query.legs()
    ]


def dense_of(record: Any) -> list[float] | None:
    """The dense vector of a retrieved or scrolled record (either backend's), if it has one."""
    vector = record.vector.get(DENSE_VECTOR) if isinstance(record.vector, dict) else None
    return [float(x) for x in vector] if isinstance(vector, list) else None


def payload_indexes() -> list[tuple[str, IndexKind]]:
    """Every payload index a collection carries: the tenant key, keywords, the chunk number."""
    indexes: list[tuple[str, IndexKind]] = [
        (key, "tenant" if key == "tenant_id" else "keyword") for key in KEYWORD_INDEXES
    ]
    indexes.append(("chunk_no", "integer"))
    return indexes
