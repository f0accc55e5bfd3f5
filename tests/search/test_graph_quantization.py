"""New shards build their dense HNSW graph on int8 copies of the vectors (optimize does less
work), while searches stay on the fp32 vectors: the same scores, and no vector out of reach."""

from __future__ import annotations

import json

import numpy as np
import qdrant_edge as qe

from catalyst_search.index.contract import HybridQuery
from catalyst_search.index.embedded import conversion, versions
from catalyst_search.index.embedded.reader import EmbeddedReader
from catalyst_search.index.factory import open_writer
from catalyst_search.index.filters import tenant_filter
from catalyst_search.index.schema import DENSE_SIZE, ChunkPoint, SparseVec, build_payload, point_id
from catalyst_search.settings import load_settings

#: above Qdrant Edge's indexing threshold (10,000 KB of 384-d vectors), so optimize builds a
#: graph and the int8 copies: fewer points stay a plain segment searched exactly
POINTS = 7_000


def _point(n: int, vector: np.ndarray) -> ChunkPoint:
    return ChunkPoint(
        id=point_id("t", f"doc-{n}", 0),
        dense=vector.tolist(),
        sparse=SparseVec([], []),
        payload=build_payload(
            tenant_id="t",
            document_id=f"doc-{n}",
            chunk_no=0,
            text=f"text {n}",
            title="",
            source="test",
            artifact_uri=f"file:///test#{n}",
            content_hash=str(n),
            mime="text/plain",
        ),
    )


def test_a_new_shard_keeps_int8_copies_of_its_dense_vectors(tmp_path):
    conversion.create_shard(tmp_path / "shard").close()
    config = json.loads((tmp_path / "shard" / "edge_config.json").read_text())
    scalar = config["vectors"]["dense"]["quantization_config"]["scalar"]
    assert scalar == {"type": "int8", "quantile": 1.0, "memory": "cold"}


def test_searches_score_with_fp32_vectors_and_reach_an_outlying_one(tmp_path):
    """One vector holds all its weight in one component, far outside the others' range. A
    clipped int8 range (a quantile below 1) leaves it out of the graph's reach, and a search
    on the int8 copies returns an approximate score; the service gets the exact cosine."""
    vectors = np.random.default_rng(7).normal(size=(POINTS, DENSE_SIZE)).astype(np.float32)
    vectors[0] = 0.0
    vectors[0][0] = 1.0
    settings = load_settings(home=tmp_path)
    with open_writer(settings) as writer:
        writer.upsert([_point(n, vector) for n, vector in enumerate(vectors)])
        writer.publish()
    query = np.zeros(DENSE_SIZE, dtype=np.float32)
    query[0], query[1] = 1.0, 0.3
    exact = float(query @ vectors[0] / np.linalg.norm(query))
    reader = EmbeddedReader(settings.index_dir)
    try:
        hits = reader.query(
            HybridQuery(dense=query.tolist(), sparse=None, filter=tenant_filter("t"), limit=1)
        )
    finally:
        reader.close()
    assert [hit.id for hit in hits] == [point_id("t", "doc-0", 0)]
    assert abs(hits[0].score - exact) < 1e-5
    published = versions.version_dir(
        settings.index_dir, versions.current_version(settings.index_dir) or ""
    )
    shard = qe.EdgeShard.load(str(published))
    try:  # the search above went through a graph, not an exact scan of a plain segment
        assert shard.info().indexed_vectors_count >= POINTS
    finally:
        shard.close()
