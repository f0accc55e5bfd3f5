"""The embedded (Qdrant Edge) and server (qdrant-client) backends answer alike."""

from __future__ import annotations

import pytest
from qdrant_client import QdrantClient

from catalyst_search.index.contract import HybridQuery
from catalyst_search.index.embedded.reader import EmbeddedReader
from catalyst_search.index.embedded.writer import EmbeddedWriter
from catalyst_search.index.filters import FilterSpec, Match, tenant_filter
from catalyst_search.index.server.reader import ServerReader
from catalyst_search.index.server.writer import ServerWriter
from catalyst_search.retrieval.filters import parse_filters
from tests.conftest import icd_records
from tests.helpers.index import points_from_records

QUERIES = [
    "type 2 diabetes with kidney disease",
    "underactive thyroid after surgery",
    "iodine deficiency goitre in a newborn",
    "diabetic eye disease with macular edema",
    "low blood sugar coma",
]


@pytest.fixture(scope="module")
def backends(tmp_path_factory, dense, sparse):
    records = icd_records(limit=400)
    points = points_from_records(records, tenant="t1", dense=dense, sparse=sparse)
    other = points_from_records(records[:50], tenant="t2", dense=dense, sparse=sparse)
    root = tmp_path_factory.mktemp("edge")
    with EmbeddedWriter.open(root, lock_timeout_s=5) as writer:
        writer.upsert(points + other)
        writer.publish()
    reader = EmbeddedReader(root, refresh_s=0)
    client = QdrantClient(":memory:")
    server_writer = ServerWriter(client, "congruence")  # creates the collection
    server_writer.upsert(points + other)
    server = ServerReader(client, "congruence")
    yield reader, server, root, server_writer
    reader.close()
    server.close()


def _ids(backend, query: HybridQuery) -> list[str]:
    return [hit.id for hit in backend.query(query)]


@pytest.mark.parametrize("text", QUERIES)
@pytest.mark.parametrize("mode", ["hybrid", "hybrid-dbsf", "dense", "sparse"])
def test_same_ids_same_order(backends, dense, sparse, text, mode):
    reader, server, *_ = backends
    query = HybridQuery(
        dense=dense.encode_query(text) if mode != "sparse" else None,
        sparse=sparse.encode_query(text) if mode != "dense" else None,
        fusion="dbsf" if mode == "hybrid-dbsf" else "rrf",
        filter=tenant_filter("t1"),
        limit=10,
        prefetch_limit=50,
        exact=True,
    )
    embedded_ids = _ids(reader, query)
    assert len(embedded_ids) == 10
    assert embedded_ids == _ids(server, query)


@pytest.mark.parametrize("text", QUERIES[:3])
def test_same_results_with_filters(backends, dense, sparse, text):
    reader, server, *_ = backends
    flt = tenant_filter("t1", FilterSpec(must=(Match("icd_codes", ("E10.21", "E11.21")),)))
    query = HybridQuery(
        dense=dense.encode_query(text),
        sparse=sparse.encode_query(text),
        filter=flt,
        limit=10,
        exact=True,
    )
    embedded = reader.query(query)
    assert {h.payload["document_id"] for h in embedded} <= {"E10.21", "E11.21"}
    assert [h.id for h in embedded] == _ids(server, query)


def test_tenant_scope_is_enforced_on_both(backends, dense, sparse):
    reader, server, *_ = backends
    query = HybridQuery(
        dense=dense.encode_query("diabetes"),
        sparse=sparse.encode_query("diabetes"),
        filter=tenant_filter("t2"),
        limit=100,
        exact=True,
    )
    for backend in (reader, server):
        hits = backend.query(query)
        assert hits and all(hit.payload["tenant_id"] == "t2" for hit in hits)
    assert reader.count(tenant_filter("t2")) == server.count(tenant_filter("t2")) == 50


def test_deletes_agree(backends, dense, sparse):
    reader, server, root, server_writer = backends
    gone = FilterSpec(must=(Match("tenant_id", ("t1",)), Match("document_id", ("E03.4", "E06.1"))))
    with EmbeddedWriter.open(root, lock_timeout_s=5) as writer:
        writer.delete(gone)
        writer.publish()
    server_writer.delete(gone)
    reader.refresh(force=True)
    assert reader.count(gone) == server.count(gone) == 0
    query = HybridQuery(
        dense=dense.encode_query("diabetes mellitus"),
        sparse=sparse.encode_query("diabetes mellitus"),
        filter=tenant_filter("t1"),
        limit=10,
        exact=True,
    )
    assert _ids(reader, query) == _ids(server, query)


@pytest.mark.parametrize("prefix", ["E11", "E11.6", "e10.2"])
def test_icd_hierarchy_filter_on_both_backends(backends, dense, sparse, prefix):
    reader, server, *_ = backends
    flt = tenant_filter("t1", parse_filters({"icd_prefix": prefix}))
    query = HybridQuery(
        dense=dense.encode_query("diabetes without complications"),
        sparse=sparse.encode_query("diabetes without complications"),
        filter=flt,
        limit=200,
        prefetch_limit=200,
        exact=True,
    )
    hits = reader.query(query)
    codes = {hit.payload["document_id"] for hit in hits}
    wanted = prefix.upper()
    assert codes and all(
        c == wanted or c.startswith(wanted if "." in wanted else wanted + ".") for c in codes
    )
    assert [h.id for h in hits] == _ids(server, query)
    if prefix == "E11":
        assert {"E11", "E11.9", "E11.65"} <= codes


def test_should_and_must_not_clauses(backends, dense, sparse):
    reader, server, *_ = backends
    flt = tenant_filter(
        "t1",
        parse_filters(
            {"should": {"icd_prefix": ["E10", "E11"]}, "must_not": {"icd_prefix": "E11.6"}}
        ),
    )
    query = HybridQuery(
        dense=dense.encode_query("diabetes"),
        sparse=sparse.encode_query("diabetes"),
        filter=flt,
        limit=100,
        exact=True,
    )
    codes = {hit.payload["document_id"] for hit in reader.query(query)}
    assert any(c.startswith("E10") for c in codes) and any(c.startswith("E11") for c in codes)
    assert not any(c.startswith(("E11.6", "E08", "E09", "E13")) for c in codes)
    assert [h.id for h in reader.query(query)] == _ids(server, query)


@pytest.mark.parametrize("fusion", ["rrf", "dbsf"])
def test_engine_side_fusion_runs_on_both_backends(backends, dense, sparse, fusion):
    """Qdrant's own prefetch + fusion (CATALYST_FUSION_SITE=engine): scoped, ranked, and for a
    query without tied BM25 scores the same documents as our fusion."""
    reader, server, *_ = backends
    text = "type 1 diabetes with ketoacidosis without coma"
    common = dict(
        dense=dense.encode_query(text),
        sparse=sparse.encode_query(text),
        filter=tenant_filter("t1"),
        limit=5,
        exact=True,
        fusion=fusion,
        weights=None,
    )
    engine = HybridQuery(**common, fusion_site="engine")
    for backend in (reader, server):
        hits = backend.query(engine)
        assert len(hits) == 5 and all(h.payload["tenant_id"] == "t1" for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert hits[0].payload["document_id"] == "E10.10"
    assert [h.payload["document_id"] for h in reader.query(engine)][:1] == [
        h.payload["document_id"] for h in reader.query(HybridQuery(**common))
    ][:1]
