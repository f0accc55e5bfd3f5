"""qdrant-client conversions: collection config, points, filters, legs and fusion."""

from __future__ import annotations

import uuid
from typing import Any

from qdrant_client import QdrantClient, models

from catalyst_search.index import qdrant_shapes
from catalyst_search.index.contract import HybridQuery
from catalyst_search.index.filters import FilterSpec
from catalyst_search.index.schema import (
    DENSE_MODEL,
    DENSE_PRECISION,
    DENSE_SIZE,
    DENSE_VECTOR,
    SPARSE_VECTOR,
    ChunkPoint,
)
from catalyst_search.settings import Settings

MODELS = qdrant_shapes.QdrantModels(
    match_value=lambda value: models.MatchValue(value=value),
    match_any=lambda values: models.MatchAny(any=values),
    range=lambda gte, lt: models.Range(gte=gte, lt=lt),
    field=lambda key, match, rng: models.FieldCondition(key=key, match=match, range=rng),
    filter=lambda must, must_not, should: models.Filter(
        must=must, must_not=must_not, should=should
    ),
    sparse_vector=lambda indices, values: models.SparseVector(indices=indices, values=values),
)

_INDEX_SCHEMAS: dict[qdrant_shapes.IndexKind, Any] = {
    "tenant": models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True),
    "keyword": models.PayloadSchemaType.KEYWORD,
    "integer": models.PayloadSchemaType.INTEGER,
}


def connect(settings: Settings) -> QdrantClient:
    """A client for ``CATALYST_QDRANT_URL`` with the configured timeout; ``path:/dir`` is
    qdrant-client's local mode (a trial or a test without a Qdrant server; one process at a
    time holds the folder)."""
    url = settings.qdrant_url or ""
    if url.startswith("path:"):
        return QdrantClient(path=url.removeprefix("path:"))
    return QdrantClient(
        url=settings.qdrant_url,
        api_key=settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None,
        timeout=int(settings.qdrant_timeout_s),
    )


def ensure_collection(
    client: QdrantClient, collection: str, precision: str = DENSE_PRECISION
) -> None:
    """Create the collection and its payload indexes if missing (idempotent); it records the
    dense encoder whose vectors it holds."""
    if not client.collection_exists(collection):
        client.create_collection(
            collection,
            vectors_config={
                DENSE_VECTOR: models.VectorParams(size=DENSE_SIZE, distance=models.Distance.COSINE)
            },
            sparse_vectors_config={
                SPARSE_VECTOR: models.SparseVectorParams(modifier=models.Modifier.IDF)
            },
            metadata={"dense_model": DENSE_MODEL, "dense_precision": precision},
        )
    for key, kind in qdrant_shapes.payload_indexes():
        client.create_payload_index(collection, key, field_schema=_INDEX_SCHEMAS[kind])


def recorded_encoder(client: QdrantClient, collection: str) -> tuple[str, str]:
    """The dense encoder ``collection`` records; one created before the record was kept holds
    MiniLM fp32 vectors, the only ones written then."""
    metadata = client.get_collection(collection).config.metadata or {}
    return (
        str(metadata.get("dense_model", DENSE_MODEL)),
        str(metadata.get("dense_precision", DENSE_PRECISION)),
    )


def point_key(raw: object) -> str:
    """Qdrant's id as the canonical UUID string the embedded backend returns."""
    return str(uuid.UUID(str(raw)))


def to_point(point: ChunkPoint) -> models.PointStruct:
    sparse = models.SparseVector(indices=point.sparse.indices, values=point.sparse.values)
    return models.PointStruct(
        id=point.id,
        vector={DENSE_VECTOR: point.dense, SPARSE_VECTOR: sparse},
        payload=point.payload,
    )


def to_filter(flt: FilterSpec) -> models.Filter | None:
    result: models.Filter | None = qdrant_shapes.to_filter(flt, MODELS)
    return result


def leg_vectors(query: HybridQuery) -> list[tuple[Any, str]]:
    """(vector, vector name) of each leg the request has: dense first, then sparse."""
    return [(vector, name) for name, vector in qdrant_shapes.leg_vectors(query, MODELS)]


def fusion_query(query: HybridQuery) -> Any:
    """Qdrant's Query API fusion (``dbsf`` / weighted ``rrf``) for engine-side fusion."""
    if query.fusion == "dbsf":
        return models.FusionQuery(fusion=models.Fusion.DBSF)
    weights = list(query.weights) if query.weights else None
    return models.RrfQuery(rrf=models.Rrf(k=query.rrf_k, weights=weights))
