"""The HTTP API through FastAPI's TestClient, over a real embedded index."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from catalyst_search.api.app import create_app
from catalyst_search.index.embedded.writer import EmbeddedWriter
from catalyst_search.settings import load_settings
from tests.conftest import icd_records
from tests.helpers.index import points_from_records


@pytest.fixture(scope="module")
def client(tmp_path_factory, dense, sparse):
    settings = load_settings(home=tmp_path_factory.mktemp("api"))
    records = icd_records(limit=300)
    with EmbeddedWriter.open(settings.index_dir, lock_timeout_s=5) as writer:
        writer.upsert(points_from_records(records, tenant="default", dense=dense, sparse=sparse))
        writer.upsert(points_from_records(records[:40], tenant="other", dense=dense, sparse=sparse))
        writer.publish()
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_readyz_is_503_until_an_index_is_published(settings):
    with TestClient(create_app(settings)) as test_client:
        response = test_client.get("/readyz")
        assert response.status_code == 503
        assert "ingest" in response.json()["detail"]
        search = test_client.post("/search", json={"query": "diabetes"})
        assert search.status_code == 503
        assert test_client.get("/healthz").json() == {"status": "ok"}


def test_search_returns_ranked_relevant_results(client):
    response = client.post(
        "/search", json={"query": "type 1 diabetes with kidney complications", "top_k": 5}
    )
    assert response.status_code == 200
    body = response.json()
    assert client.get("/readyz").json()["ready"] is True
    assert len(body["results"]) == 5
    assert body["query_id"]
    timings = body["timings_ms"]
    assert timings["total"] > 0 and timings["queue"] >= 0  # queue: waiting for a worker thread
    assert timings["index"] >= timings["prefetch"] + timings["fusion"] - 0.002  # via a helper
    top = body["results"][0]
    assert top["document_id"].startswith("E10.2")
    assert set(top) == {"document_id", "chunk_id", "score", "text", "metadata"}
    assert top["metadata"]["chapter"] == "4"
    assert "tenant_id" not in top["metadata"]
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_search_stays_inside_the_tenant(client):
    body = client.post("/search", json={"query": "iodine deficiency", "top_k": 100}).json()
    # tenant "other" holds the same first 40 documents (E00...) under its own point ids:
    # a leak would show up as a document returned twice
    documents = [r["document_id"] for r in body["results"]]
    assert "E00" in documents
    assert len(documents) == len(set(documents))


def test_icd_filter_restricts_results(client):
    body = client.post(
        "/search", json={"query": "diabetes", "filters": {"icd_codes": ["E10.21", "E11.21"]}}
    ).json()
    assert {r["document_id"] for r in body["results"]} == {"E10.21", "E11.21"}


@pytest.mark.parametrize(
    "payload, fragment",
    [
        ({"query": ""}, "query"),
        ({"query": "   "}, "query must contain some text"),
        ({"query": "x", "top_k": 101}, "top_k"),
        ({"query": "x", "top_k": 0}, "top_k"),
        ({"query": "x", "mode": "turbo"}, "mode"),
        ({"query": "x", "filters": {"tenant_id": "other"}}, "cannot be filtered"),
        ({"query": "x", "filters": {"chapter": {"a": 1}}}, "filters.chapter"),
        ({"query": "x", "unknown": 1}, "unknown"),
    ],
)
def test_bad_input_is_422_with_a_message(client, payload, fragment):
    response = client.post("/search", json=payload)
    assert response.status_code == 422
    assert fragment in response.json()["detail"]
