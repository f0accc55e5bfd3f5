"""Heading points: a document's heading alone, dense only, shown as (and collapsed with) its
first chunk."""

from __future__ import annotations

from catalyst_search.embed.dense import DenseEncoder
from catalyst_search.embed.sparse import SparseEncoder
from catalyst_search.index.embedded.reader import EmbeddedReader
from catalyst_search.index.embedded.writer import EmbeddedWriter
from catalyst_search.index.schema import (
    ChunkPoint,
    Hit,
    SparseVec,
    body_point_of,
    heading_point_id,
    point_id,
)
from catalyst_search.retrieval.hybrid import RetrievalConfig, Retriever
from catalyst_search.retrieval.results import collapse_headings
from catalyst_search.settings import Settings
from tests.conftest import icd_records
from tests.helpers.index import points_from_records


def _hit(pid: str, doc: str, chunk_no: int, heading: bool = False) -> Hit:
    payload = {"document_id": doc, "chunk_no": chunk_no} | (
        {"chunk_kind": "heading"} if heading else {}
    )
    return Hit(id=pid, score=1.0, payload=payload)


def test_a_heading_id_maps_to_its_first_chunks_id_and_a_chunk_id_to_itself() -> None:
    for tenant, document in [("default", "E11.9"), ("t-2", "a/b c.pdf"), ("x", "")]:
        first = point_id(tenant, document, 0)
        assert body_point_of(heading_point_id(tenant, document)) == first
        assert body_point_of(first) == first
        assert body_point_of(point_id(tenant, document, 3)) == point_id(tenant, document, 3)


def test_a_heading_and_its_first_chunk_are_one_result_at_the_better_rank() -> None:
    hits = [
        _hit("h-a", "A", 0, heading=True),
        _hit("b-0", "B", 0),
        _hit("a-0", "A", 0),  # A's first chunk: already shown through its heading
        _hit("a-1", "A", 1),  # another chunk of A: its own result
        _hit("b-h", "B", 0, heading=True),
        _hit("c-0", "C", 0),
    ]
    assert [h.id for h in collapse_headings(hits, 10)] == ["h-a", "b-0", "a-1", "c-0"]
    assert [h.id for h in collapse_headings(hits, 2)] == ["h-a", "b-0"]


def test_searches_show_a_document_once_with_its_heading_indexed(
    settings: Settings, dense: DenseEncoder, sparse: SparseEncoder
) -> None:
    records = [r for r in icd_records(200) if "\n" in r["text"]][:100]
    points = points_from_records(records, tenant="default", dense=dense, sparse=sparse)
    headings = [r["text"].splitlines()[0] for r in records]
    for record, vector in zip(records, dense.encode(headings), strict=True):
        points.append(
            ChunkPoint(
                id=heading_point_id("default", record["id"]),
                dense=vector.tolist(),
                sparse=SparseVec([], []),  # dense only: the index takes an empty sparse vector
                payload={**points[0].payload, "document_id": record["id"], "chunk_no": 0,
                         "text": record["text"], "chunk_kind": "heading"},
            )
        )  # fmt: skip
    with EmbeddedWriter.open(settings.index_dir, lock_timeout_s=5) as writer:
        writer.upsert(points)
        writer.publish()
    retriever = Retriever(EmbeddedReader(settings.index_dir), dense, sparse)
    try:
        for heading in headings[:10]:
            result = retriever.search(tenant_id="default", query=heading, top_k=10)
            docs = [r.hit.payload["document_id"] for r in result.hits]
            assert len(docs) == 10 and len(set(docs)) == 10  # one result per document here
            sparse_only = retriever.search(
                tenant_id="default", query=heading, retrieval="sparse", top_k=50
            )
            assert not any(r.hit.payload.get("chunk_kind") for r in sparse_only.hits)
    finally:
        retriever.reader.close()


def test_payloads_are_loaded_for_the_results_alone_unless_the_engine_fuses(
    settings: Settings, dense: DenseEncoder, sparse: SparseEncoder
) -> None:
    """Client fusion maps a heading onto its first chunk, so its top hits are distinct and the
    index loads payloads for ``top_k`` of them; the engine ranks the two apart, so twice that."""
    points = points_from_records(icd_records(60), tenant="default", dense=dense, sparse=sparse)
    with EmbeddedWriter.open(settings.index_dir, lock_timeout_s=5) as writer:
        writer.upsert(points)
        writer.publish()
    reader = EmbeddedReader(settings.index_dir)
    asked: list[int] = []
    query = reader.query
    reader.query = lambda q, timings=None: asked.append(q.limit) or query(q, timings)  # type: ignore[method-assign]
    try:
        for site, limit in (("client", 7), ("engine", 14)):
            retriever = Retriever(reader, dense, sparse, RetrievalConfig(fusion_site=site))
            result = retriever.search(tenant_id="default", query="diabetes mellitus", top_k=7)
            assert asked[-1] == limit and len(result.hits) == 7
    finally:
        reader.close()


def test_a_heading_hit_from_engine_fusion_carries_its_first_chunks_id() -> None:
    from catalyst_search.index.schema import point_id

    heading = Hit(
        id=heading_point_id("t", "E11.9"),
        score=1.0,
        payload={"document_id": "E11.9", "chunk_no": 0, "chunk_kind": "heading"},
    )
    (kept,) = collapse_headings([heading], 10)
    assert kept.id == point_id("t", "E11.9", 0) != heading.id
