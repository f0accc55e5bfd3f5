"""Qdrant Edge shard configuration and conversions from our neutral types to qdrant_edge's."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import qdrant_edge as qe

from catalyst_search.index.backend import HybridQuery
from catalyst_search.index.filters import FilterSpec, Match, Range
from catalyst_search.index.fusion import Candidate
from catalyst_search.index.schema import (
    DENSE_SIZE,
    DENSE_VECTOR,
    KEYWORD_INDEXES,
    SPARSE_VECTOR,
    ChunkPoint,
    Hit,
    SparseVec,
)


def shard_config() -> qe.EdgeConfig:
    """Named vectors ``dense`` (cosine) and ``sparse`` (IDF modifier), no WAL.

    Without a WAL a published copy can be loaded by several reading processes at once
    (architecture decision 2); the writer flushes before it publishes.
    """
    return qe.EdgeConfig(
        vectors={DENSE_VECTOR: qe.EdgeVectorParams(size=DENSE_SIZE, distance=qe.Distance.Cosine)},
        sparse_vectors={SPARSE_VECTOR: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        wal_enabled=False,
    )


def create_shard(path: Path) -> qe.EdgeShard:
    path.mkdir(parents=True, exist_ok=True)
    shard = qe.EdgeShard.create(str(path), shard_config())
    for key in KEYWORD_INDEXES:
        schema: Any = (
            qe.KeywordIndexParams(is_tenant=True)
            if key == "tenant_id"
            else qe.PayloadSchemaType.Keyword
        )
        shard.update(qe.UpdateOperation.create_field_index(key, schema))
    shard.update(qe.UpdateOperation.create_field_index("chunk_no", qe.PayloadSchemaType.Integer))
    return shard


def to_point(point: ChunkPoint) -> qe.Point:
    sparse = qe.SparseVector(indices=point.sparse.indices, values=point.sparse.values)
    return qe.Point(point.id, {DENSE_VECTOR: point.dense, SPARSE_VECTOR: sparse}, point.payload)


def _condition(condition: Match | Range) -> qe.FieldCondition:
    if isinstance(condition, Range):
        return qe.FieldCondition(
            key=condition.key, range=qe.RangeFloat(gte=condition.gte, lt=condition.lt)
        )
    values = list(condition.values)
    if len(values) == 1:
        return qe.FieldCondition(key=condition.key, match=qe.MatchValue(values[0]))
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return qe.FieldCondition(key=condition.key, match=qe.MatchAny([int(v) for v in values]))
    return qe.FieldCondition(key=condition.key, match=qe.MatchAny([str(v) for v in values]))


def to_filter(flt: FilterSpec) -> qe.Filter | None:
    if flt.empty:
        return None
    return qe.Filter(
        must=[_condition(c) for c in flt.must] or None,
        must_not=[_condition(c) for c in flt.must_not] or None,
        should=[_condition(c) for c in flt.should] or None,
    )


def _sparse(vec: SparseVec) -> qe.SparseVector:
    return qe.SparseVector(indices=vec.indices, values=vec.values)


def _leg_queries(query: HybridQuery) -> list[Any]:
    """The nearest-neighbour query of each leg the request has: dense first, then sparse."""
    scoring: list[Any] = []
    if query.dense is not None:
        scoring.append(qe.Query.Nearest(query.dense, using=DENSE_VECTOR))
    if query.sparse is not None:
        scoring.append(qe.Query.Nearest(_sparse(query.sparse), using=SPARSE_VECTOR))
    return scoring


def legs(shard: qe.EdgeShard, query: HybridQuery) -> list[list[Candidate]]:
    """Run the dense and/or sparse leg as one planned batch; ids and scores only."""
    params = qe.SearchParams(hnsw_ef=query.hnsw_ef, exact=query.exact)
    flt = to_filter(query.filter)
    requests = [
        qe.QueryRequest(
            limit=query.leg_limit, query=q, filter=flt, params=params, with_payload=False
        )
        for q in _leg_queries(query)
    ]
    results = shard.query_batch(qe.QueryBatchRequest(requests))
    return [[Candidate(str(p.id), float(p.score)) for p in points] for points in results]


def engine_fused(shard: qe.EdgeShard, query: HybridQuery) -> list[Hit]:
    """Prefetch both legs and fuse inside Qdrant Edge (``Fusion.Rrf`` / ``Fusion.Dbsf``)."""
    params = qe.SearchParams(hnsw_ef=query.hnsw_ef, exact=query.exact)
    flt = to_filter(query.filter)
    assert query.dense is not None and query.sparse is not None
    weights = list(query.weights) if query.weights else None
    fusion: Any = (
        qe.Fusion.Dbsf()
        if query.fusion == "dbsf"
        else qe.Fusion.Rrf(k=query.rrf_k, weights=weights)
    )
    request = qe.QueryRequest(
        limit=query.limit,
        query=fusion,
        prefetches=[
            qe.Prefetch(limit=query.prefetch_limit, query=leg, filter=flt, params=params)
            for leg in _leg_queries(query)
        ],
        filter=flt,
        with_payload=True,
    )
    return [
        Hit(id=str(p.id), score=float(p.score), payload=dict(p.payload or {}))
        for p in shard.query(request)
    ]


def dense_vectors(shard: qe.EdgeShard, ids: Sequence[str]) -> dict[str, list[float]]:
    if not ids:
        return {}
    records = shard.retrieve(list(ids), with_payload=False, with_vector=[DENSE_VECTOR])
    found: dict[str, list[float]] = {}
    for record in records:
        vector = record.vector.get(DENSE_VECTOR) if isinstance(record.vector, dict) else None
        if isinstance(vector, list):
            found[str(record.id)] = [float(x) for x in vector]  # type: ignore[arg-type]
    return found


def payloads(shard: qe.EdgeShard, ids: list[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    records = shard.retrieve(list(ids), with_payload=True, with_vector=False)
    return {str(r.id): dict(r.payload or {}) for r in records}


def count(shard: qe.EdgeShard, flt: FilterSpec) -> int:
    return int(shard.count(qe.CountRequest(filter=to_filter(flt), exact=True)))
