"""The server backend: qdrant-client against a Qdrant server (or ``:memory:`` in tests)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from qdrant_client import QdrantClient, models

from catalyst_search.index.backend import HybridQuery, run_query
from catalyst_search.index.filters import FilterSpec, Match, Range
from catalyst_search.index.fusion import Candidate
from catalyst_search.index.schema import (
    DENSE_SIZE,
    DENSE_VECTOR,
    KEYWORD_INDEXES,
    SPARSE_VECTOR,
    ChunkPoint,
    Hit,
)

if TYPE_CHECKING:
    from catalyst_search.settings import Settings

_UPSERT_BATCH = 256


def _condition(condition: Match | Range) -> models.FieldCondition:
    if isinstance(condition, Range):
        return models.FieldCondition(
            key=condition.key, range=models.Range(gte=condition.gte, lt=condition.lt)
        )
    values: list[Any] = list(condition.values)
    if len(values) == 1:
        return models.FieldCondition(key=condition.key, match=models.MatchValue(value=values[0]))
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return models.FieldCondition(key=condition.key, match=models.MatchAny(any=values))
    return models.FieldCondition(
        key=condition.key, match=models.MatchAny(any=[str(v) for v in values])
    )


def to_filter(flt: FilterSpec) -> models.Filter | None:
    if flt.empty:
        return None
    return models.Filter(
        must=[_condition(c) for c in flt.must] or None,
        must_not=[_condition(c) for c in flt.must_not] or None,
        should=[_condition(c) for c in flt.should] or None,
    )


def _leg_vectors(query: HybridQuery) -> list[tuple[Any, str]]:
    """(vector, vector name) of each leg the request has: dense first, then sparse."""
    found: list[tuple[Any, str]] = []
    if query.dense is not None:
        found.append((query.dense, DENSE_VECTOR))
    if query.sparse is not None:
        sparse = models.SparseVector(indices=query.sparse.indices, values=query.sparse.values)
        found.append((sparse, SPARSE_VECTOR))
    return found


class ServerIndex:
    """Reader and writer over one Qdrant collection. Writes are visible at once."""

    def __init__(self, client: QdrantClient, collection: str) -> None:
        self._client = client
        self._collection = collection

    @classmethod
    def connect(cls, settings: Settings) -> ServerIndex:
        client = QdrantClient(
            url=settings.qdrant_url,
            api_key=settings.qdrant_api_key,
            timeout=int(settings.qdrant_timeout_s),
        )
        return cls(client, settings.collection)

    def ensure_collection(self) -> None:
        """Create the collection and its payload indexes if missing (idempotent)."""
        if not self._client.collection_exists(self._collection):
            self._client.create_collection(
                self._collection,
                vectors_config={
                    DENSE_VECTOR: models.VectorParams(
                        size=DENSE_SIZE, distance=models.Distance.COSINE
                    )
                },
                sparse_vectors_config={
                    SPARSE_VECTOR: models.SparseVectorParams(modifier=models.Modifier.IDF)
                },
            )
        for key in KEYWORD_INDEXES:
            schema: Any = (
                models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True)
                if key == "tenant_id"
                else models.PayloadSchemaType.KEYWORD
            )
            self._client.create_payload_index(self._collection, key, field_schema=schema)
        self._client.create_payload_index(
            self._collection, "chunk_no", field_schema=models.PayloadSchemaType.INTEGER
        )

    @property
    def version(self) -> str | None:
        return self._collection if self._client.collection_exists(self._collection) else None

    def upsert(self, points: Sequence[ChunkPoint]) -> None:
        for start in range(0, len(points), _UPSERT_BATCH):
            batch = [
                models.PointStruct(
                    id=p.id,
                    vector={
                        DENSE_VECTOR: p.dense,
                        SPARSE_VECTOR: models.SparseVector(
                            indices=p.sparse.indices, values=p.sparse.values
                        ),
                    },
                    payload=p.payload,
                )
                for p in points[start : start + _UPSERT_BATCH]
            ]
            self._client.upsert(self._collection, points=batch, wait=True)

    def delete(self, flt: FilterSpec) -> None:
        qdrant_filter = to_filter(flt)
        if qdrant_filter is None:
            raise ValueError("refusing to delete with an empty filter")
        self._client.delete(
            self._collection, points_selector=models.FilterSelector(filter=qdrant_filter)
        )

    def count(self, flt: FilterSpec) -> int:
        return self._client.count(self._collection, count_filter=to_filter(flt), exact=True).count

    def dense_sizes(self, flt: FilterSpec, *, limit: int) -> list[int]:
        records, _ = self._client.scroll(
            self._collection, scroll_filter=to_filter(flt), limit=limit, with_vectors=[DENSE_VECTOR]
        )
        sizes = []
        for record in records:
            vector = record.vector.get(DENSE_VECTOR) if isinstance(record.vector, dict) else None
            sizes.append(len(vector) if isinstance(vector, list) else 0)
        return sizes

    def publish(self) -> str:
        return self._collection

    def current_version(self) -> str | None:
        return self.version

    def query(self, query: HybridQuery, timings: dict[str, float] | None = None) -> list[Hit]:
        if query.engine_fused:
            return self._engine_fused(query)
        return run_query(query, self._legs, self._payloads, timings)

    def _engine_fused(self, query: HybridQuery) -> list[Hit]:
        """Prefetch both legs and fuse inside Qdrant (Query API ``rrf`` / ``dbsf``)."""
        assert query.dense is not None and query.sparse is not None
        params = models.SearchParams(hnsw_ef=query.hnsw_ef, exact=query.exact)
        flt = to_filter(query.filter)
        fusion: Any = (
            models.FusionQuery(fusion=models.Fusion.DBSF)
            if query.fusion == "dbsf"
            else models.RrfQuery(
                rrf=models.Rrf(
                    k=query.rrf_k, weights=list(query.weights) if query.weights else None
                )
            )
        )
        response = self._client.query_points(
            self._collection,
            prefetch=[
                models.Prefetch(
                    query=vector,
                    using=using,
                    filter=flt,
                    params=params,
                    limit=query.prefetch_limit,
                )
                for vector, using in _leg_vectors(query)
            ],
            query=fusion,
            query_filter=flt,
            limit=query.limit,
            with_payload=True,
        )
        return [
            Hit(id=str(uuid.UUID(str(p.id))), score=float(p.score), payload=dict(p.payload or {}))
            for p in response.points
        ]

    def _legs(self, query: HybridQuery) -> list[list[Candidate]]:
        """Both legs through the Query API in one batch request; ids and scores only."""
        params = models.SearchParams(hnsw_ef=query.hnsw_ef, exact=query.exact)
        flt = to_filter(query.filter)
        responses = self._client.query_batch_points(
            self._collection,
            requests=[
                models.QueryRequest(
                    query=vector,
                    using=using,
                    filter=flt,
                    params=params,
                    limit=query.leg_limit,
                    with_payload=False,
                )
                for vector, using in _leg_vectors(query)
            ],
        )
        return [
            [Candidate(str(uuid.UUID(str(p.id))), float(p.score)) for p in response.points]
            for response in responses
        ]

    def dense_vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        if not ids:
            return {}
        records = self._client.retrieve(
            self._collection, ids=list(ids), with_payload=False, with_vectors=[DENSE_VECTOR]
        )
        found = {}
        for record in records:
            vector = record.vector.get(DENSE_VECTOR) if isinstance(record.vector, dict) else None
            if isinstance(vector, list):
                found[str(uuid.UUID(str(record.id)))] = [float(x) for x in vector]  # type: ignore[arg-type]
        return found

    def _payloads(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        records = self._client.retrieve(self._collection, ids=ids, with_payload=True)
        return {str(uuid.UUID(str(r.id))): dict(r.payload or {}) for r in records}

    def close(self) -> None:
        self._client.close()
