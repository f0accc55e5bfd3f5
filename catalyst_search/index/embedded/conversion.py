"""Qdrant Edge shard configuration and conversions from our neutral types to qdrant_edge's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import qdrant_edge as qe

from catalyst_search.index import qdrant_shapes
from catalyst_search.index.contract import HybridQuery
from catalyst_search.index.filters import FilterSpec
from catalyst_search.index.schema import DENSE_SIZE, DENSE_VECTOR, SPARSE_VECTOR, ChunkPoint

MODELS = qdrant_shapes.QdrantModels(
    match_value=qe.MatchValue,
    match_any=qe.MatchAny,
    range=lambda gte, lt: qe.RangeFloat(gte=gte, lt=lt),
    field=lambda key, match, rng: (
        qe.FieldCondition(key=key, range=rng)
        if rng is not None
        else qe.FieldCondition(key=key, match=match)
    ),
    filter=lambda must, must_not, should: qe.Filter(must=must, must_not=must_not, should=should),
    sparse_vector=lambda indices, values: qe.SparseVector(indices=indices, values=values),
)

_INDEX_SCHEMAS: dict[qdrant_shapes.IndexKind, Any] = {
    "tenant": qe.KeywordIndexParams(is_tenant=True),
    "keyword": qe.PayloadSchemaType.Keyword,
    "integer": qe.PayloadSchemaType.Integer,
}


#: int8 copies of the dense vectors, which Qdrant builds a segment's HNSW graph on when a vector
#: has them: optimize takes about 28% less at 94k points with the same recall (bench/hnsw.py,
#: docs/performance.md). Quantile 1 keeps every component's range: a clipped one would put an
#: outlying vector out of its graph's reach. Searches ignore them (``search_params``), so scores
#: and traversal stay fp32; ``Cold`` leaves them on disk, where nothing reads them after the build.
GRAPH_QUANTIZATION = qe.ScalarQuantizationConfig(
    type=qe.ScalarType.Int8, quantile=1.0, memory=qe.Memory.Cold
)


def shard_config(
    search_threads: int | None = None,
    *,
    hnsw: qe.HnswIndexConfig | None = None,
    quantization: qe.ScalarQuantizationConfig | None = GRAPH_QUANTIZATION,
) -> qe.EdgeConfig:
    """Named vectors ``dense`` (cosine, its graph built on int8 copies) and ``sparse`` (IDF
    modifier), no WAL; HNSW as ``hnsw`` says, else Qdrant Edge's default (bench/hnsw.py
    compares others); a search pool of ``search_threads`` (see ``load_config``).

    Without a WAL a published copy can be loaded by several reading processes at once
    (architecture decision 2); the writer flushes before it publishes.
    """
    dense = qe.EdgeVectorParams(
        size=DENSE_SIZE, distance=qe.Distance.Cosine, quantization_config=quantization
    )
    return qe.EdgeConfig(
        vectors={DENSE_VECTOR: dense},
        sparse_vectors=_sparse_vectors(),
        hnsw_config=hnsw,
        wal_enabled=False,
        max_search_threads=search_threads,
    )


#: The file Qdrant Edge keeps a shard's configuration in: there in every shard it wrote.
CONFIG_FILE = "edge_config.json"


def load_config(search_threads: int) -> qe.EdgeConfig:
    """What every shard is loaded with (a reader's version, the writer's ``live/``): Qdrant
    Edge's search pool of ``search_threads`` threads. A config must name a vector: the sparse
    one, the same in every index we wrote; the dense one, left out, is the shard's own (an
    index from before ``GRAPH_QUANTIZATION`` keeps its settings). Qdrant Edge keeps the config
    in the shard's ``CONFIG_FILE`` (written to a temporary folder, then renamed)."""
    return qe.EdgeConfig(sparse_vectors=_sparse_vectors(), max_search_threads=search_threads)


def _sparse_vectors() -> dict[str, qe.EdgeSparseVectorParams]:
    return {SPARSE_VECTOR: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)}


def load_shard(path: Path, config: qe.EdgeConfig) -> qe.EdgeShard:
    """The shard at ``path``, searched as ``config`` says. Given a config, Qdrant Edge would
    create an empty shard in a folder that holds none: a folder without its configuration file
    or its segments is loaded without one, and fails to load as before."""
    whole = (path / CONFIG_FILE).is_file() and (path / "segments").is_dir()
    return qe.EdgeShard.load(str(path), config if whole else None)


def create_shard(path: Path, config: qe.EdgeConfig | None = None) -> qe.EdgeShard:
    path.mkdir(parents=True, exist_ok=True)
    shard = qe.EdgeShard.create(str(path), config or shard_config())
    for key, kind in qdrant_shapes.payload_indexes():
        shard.update(qe.UpdateOperation.create_field_index(key, _INDEX_SCHEMAS[kind]))
    return shard


def to_point(point: ChunkPoint) -> qe.Point:
    sparse = qe.SparseVector(indices=point.sparse.indices, values=point.sparse.values)
    return qe.Point(point.id, {DENSE_VECTOR: point.dense, SPARSE_VECTOR: sparse}, point.payload)


def search_params(*, hnsw_ef: int | None, exact: bool) -> qe.SearchParams:
    """A leg's search parameters: fp32 vectors only, even where a segment has int8 copies."""
    return qe.SearchParams(
        hnsw_ef=hnsw_ef, exact=exact, quantization=qe.QuantizationSearchParams(ignore=True)
    )


def to_filter(flt: FilterSpec) -> qe.Filter | None:
    result: qe.Filter | None = qdrant_shapes.to_filter(flt, MODELS)
    return result


def count_request(flt: FilterSpec) -> qe.CountRequest:
    return qe.CountRequest(filter=to_filter(flt), exact=True)


def leg_queries(query: HybridQuery) -> list[Any]:
    """The nearest-neighbour query of each leg the request has: dense first, then sparse."""
    return [
        qe.Query.Nearest(vector, using=name)
        for name, vector in qdrant_shapes.leg_vectors(query, MODELS)
    ]


def fusion_query(query: HybridQuery) -> Any:
    """Qdrant Edge's own fusion (``Fusion.Rrf`` / ``Fusion.Dbsf``) for engine-side fusion."""
    if query.fusion == "dbsf":
        return qe.Fusion.Dbsf()
    weights = list(query.weights) if query.weights else None
    return qe.Fusion.Rrf(k=query.rrf_k, weights=weights)
