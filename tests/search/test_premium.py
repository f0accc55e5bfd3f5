"""Premium search against a local server speaking Cohere's wire format: success, and every
failure degrading to the next tier with a 200, a reason, an audit entry and a metric."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from catalyst_search.api.app import create_app
from catalyst_search.index.embedded.writer import EmbeddedWriter
from catalyst_search.settings import load_settings
from tests.conftest import icd_records
from tests.helpers.fake_cohere import FakeCohere
from tests.helpers.fake_openai import FakeOpenAI
from tests.helpers.index import points_from_records

QUERY = {"query": "type 2 diabetes with kidney complications", "top_k": 5, "mode": "premium"}


@pytest.fixture(scope="module")
def index_home(tmp_path_factory, dense, sparse):
    home = tmp_path_factory.mktemp("premium")
    with EmbeddedWriter.open(home / "index", lock_timeout_s=5) as writer:
        records = icd_records(limit=300)
        writer.upsert(points_from_records(records, tenant="default", dense=dense, sparse=sparse))
        writer.publish()
    return home


@pytest.fixture
def cohere():
    with FakeCohere() as fake:
        yield fake


def _client(index_home, cohere, **overrides):
    settings = load_settings(
        home=index_home,
        cohere_api_key=overrides.pop("key", "test-key"),
        cohere_base_url=cohere.url,
        cohere_timeout_s=0.5,
        **overrides,
    )
    return TestClient(create_app(settings)), settings


def _audit(settings):
    from catalyst_search.retrieval.rerank.chain import AuditLog

    return AuditLog(settings.audit_log).entries()


def _metric(client, reason):
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("catalyst_search_degradations_total{") and f'reason="{reason}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_premium_uses_cohere_when_it_answers(index_home, cohere):
    client, _ = _client(index_home, cohere)
    with client:
        body = client.post("/search", json=QUERY).json()
    assert (body["rerank_tier"], body["degraded"], body["degradation_reason"]) == (
        "cohere",
        False,
        None,
    )
    call = [r for r in cohere.requests if r["path"] == "/v2/rerank"][-1]
    assert call["auth"] == "Bearer test-key"
    assert call["body"]["model"] == "rerank-v3.5"
    assert len(call["body"]["documents"]) == 30  # CATALYST_RERANK_CANDIDATES
    assert len(body["results"]) == 5
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    "mode, reason",
    [
        ("429", "cohere_rate_limited"),
        ("500", "cohere_server_error"),
        ("timeout", "cohere_timeout"),
        ("401", "cohere_invalid_credentials"),
    ],
)
def test_cohere_failures_degrade_to_the_local_tier(index_home, cohere, mode, reason):
    client, settings = _client(index_home, cohere)
    with client:
        before = _metric(client, reason)
        cohere.mode = mode
        response = client.post("/search", json=QUERY)
        after = _metric(client, reason)
    assert response.status_code == 200
    body = response.json()
    assert body["rerank_tier"] == "local"
    assert body["degraded"] is True
    assert body["degradation_reason"] == reason
    assert len(body["results"]) == 5
    assert after == before + 1
    entry = _audit(settings)[-1]
    assert entry["query_id"] == body["query_id"]
    assert (entry["tenant_id"], entry["requested_tier"], entry["tier_used"], entry["reason"]) == (
        "default",
        "cohere",
        "local",
        reason,
    )


def test_a_key_cohere_rejects_at_start_up_is_not_used(index_home, cohere):
    client, _ = _client(index_home, cohere, key="wrong-key")
    with client:
        body = client.post("/search", json=QUERY).json()
    assert cohere.rerank_calls() == 0
    assert (body["rerank_tier"], body["degraded"]) == ("local", True)
    assert body["degradation_reason"] == "cohere_invalid_credentials"


def test_circuit_opens_after_repeated_failures(index_home, cohere):
    client, _ = _client(index_home, cohere, rerank_breaker_failures=2)
    with client:
        cohere.mode = "500"
        for _ in range(2):
            client.post("/search", json=QUERY)
        calls = cohere.rerank_calls()
        body = client.post("/search", json=QUERY).json()
    assert cohere.rerank_calls() == calls  # not called while open
    assert body["degradation_reason"] == "cohere_circuit_open"
    assert body["rerank_tier"] == "local"


def test_without_any_reranker_premium_falls_back_to_fused_order(index_home, cohere):
    client, _ = _client(index_home, cohere, rerank_tiers="cohere")
    with client:
        cohere.mode = "500"
        body = client.post("/search", json=QUERY).json()
        economy = client.post("/search", json={**QUERY, "mode": "economy"}).json()
    assert (body["rerank_tier"], body["degraded"]) == ("fused", True)
    assert [r["chunk_id"] for r in body["results"]] == [r["chunk_id"] for r in economy["results"]]
    assert (economy["rerank_tier"], economy["degraded"]) == ("fused", False)


def test_sparse_only_when_the_dense_encoder_fails(index_home, cohere, monkeypatch):
    client, _ = _client(index_home, cohere)
    with client:
        retriever = client.app.state.retriever

        def broken(text):
            raise RuntimeError("model weights unavailable")

        monkeypatch.setattr(retriever.dense, "encode_query", broken)
        body = client.post("/search", json={**QUERY, "mode": "economy", "debug": True}).json()
    assert body["degraded"] is True
    assert body["degradation_reason"] == "dense_encoder_unavailable"
    assert body["results"][0]["document_id"].startswith("E1")
    assert body["debug"]["backend_query"]["legs"] == ["sparse"]


def test_debug_bundle_explains_each_result(index_home, cohere):
    client, _ = _client(index_home, cohere)
    with client:
        body = client.post("/search", json={**QUERY, "debug": True}).json()
        plain = client.post("/search", json=QUERY).json()
    assert "debug" not in plain or plain["debug"] is None
    debug = body["debug"]
    assert len(debug["results"]) == len(body["results"])
    first = debug["results"][0]
    assert first["chunk_id"] == body["results"][0]["chunk_id"]
    assert first["rerank_tier"] == "cohere"
    assert first["rerank_score"] == body["results"][0]["score"]
    assert first["dense"]["rank"] is not None or first["sparse"]["rank"] is not None
    assert set(debug["timings_ms"]) >= {"encode", "prefetch", "fusion", "rerank", "total"}
    query = debug["backend_query"]
    assert query["legs"] == ["dense", "sparse"] and query["fusion"] == "dbsf"
    assert {"key": "tenant_id", "values": ["default"]} in query["filter"]["must"]


def test_metrics_per_stage_track_and_mode(index_home, cohere):
    client, _ = _client(index_home, cohere)
    with client:
        client.post("/search", json=QUERY)
        client.post("/search", json={**QUERY, "mode": "economy", "track": "vision"})
        text = client.get("/metrics").text
    stage = "catalyst_search_stage_duration_seconds_count"
    assert f'{stage}{{mode="premium",stage="rerank",track="text"}} 1.0' in text
    assert f'{stage}{{mode="premium",stage="encode",track="text"}} 1.0' in text
    assert 'catalyst_search_zero_results_total{mode="economy",track="vision"} 1.0' in text
    assert 'catalyst_http_requests_total{method="POST",route="/search",status="200"} 2.0' in text


def test_openai_tier_answers_when_cohere_fails_and_local_when_both_do(index_home, cohere):
    with FakeOpenAI() as openai:
        client, settings = _client(
            index_home, cohere, openai_api_key="sk-test", openai_base_url=openai.url
        )
        with client:
            cohere.mode = "500"
            body = client.post("/search", json=QUERY).json()
            assert (body["rerank_tier"], body["degraded"]) == ("openai", True)
            assert body["degradation_reason"] == "cohere_server_error"
            call = openai.requests[-1]
            assert call["auth"] == "Bearer sk-test"
            assert call["body"]["model"] == "text-embedding-3-small"
            assert call["body"]["input"][0] == QUERY["query"]
            openai.mode = "429"
            body = client.post("/search", json=QUERY).json()
    assert (body["rerank_tier"], body["degraded"]) == ("local", True)
    assert body["degradation_reason"] == "cohere_server_error,openai_rate_limited"
    assert _audit(settings)[-1]["reason"] == "cohere_server_error,openai_rate_limited"


def test_local_tier_reuses_stored_vectors(index_home, dense, monkeypatch):
    from catalyst_search.index.embedded.reader import EmbeddedReader
    from catalyst_search.retrieval.rerank.local import LocalEmbeddingReranker

    reader = EmbeddedReader(index_home / "index", refresh_s=0)
    try:
        records = icd_records(limit=30)[10:20]
        texts = [r["text"] for r in records]
        ids = [
            points_from_records([r], tenant="default", dense=dense, sparse=_Sparse())[0].id
            for r in records
        ]
        encoded = LocalEmbeddingReranker(dense).rerank("thyroid disorder", texts)
        calls = []
        original = dense.encode
        monkeypatch.setattr(dense, "encode", lambda t: calls.append(len(t)) or original(t))
        stored = LocalEmbeddingReranker(dense, reader.dense_vectors).rerank(
            "thyroid disorder", texts, ids=ids
        )
    finally:
        reader.close()
    assert calls == [1]  # only the query was encoded
    assert [i for i, _ in stored] == [i for i, _ in encoded]
    assert [round(s, 4) for _, s in stored] == [round(s, 4) for _, s in encoded]


class _Sparse:
    def encode_document(self, text):
        from catalyst_search.index.schema import SparseVec

        return SparseVec([1], [1.0])
