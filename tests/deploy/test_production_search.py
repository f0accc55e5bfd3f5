"""The production profile: a search service with an empty CATALYST_HOME it cannot write to
serves searches from the server index, premium's degradation audit included (as a log line),
and start-up refuses a production profile that keeps state on local disk, naming each."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from catalyst_search.api.app import create_app
from catalyst_search.index.server.writer import ServerWriter
from catalyst_search.settings import SettingsError, load_settings
from tests.conftest import icd_records
from tests.helpers.index import points_from_records
from tests.helpers.services import delete_prefix, machine_redis, unique_prefix


@pytest.fixture
def production(tmp_path, dense, sparse):
    redis = machine_redis()
    prefix = unique_prefix()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("CATALYST_HOME lies under a file: nothing can ever be written there")
    settings = load_settings(
        profile="production",
        home=blocker / "home",
        index_backend="server",
        qdrant_url=f"path:{tmp_path / 'qdrant'}",
        state_url="postgresql://postgres@127.0.0.1:5432/postgres",
        artifact_store="s3://acme-artifacts/catalyst",
        queue="redis://127.0.0.1:6379/0",
        redis_prefix=prefix,
        rerank_tiers="cohere,local",
    )
    from catalyst_search.index.server import conversion

    client = conversion.connect(settings)
    writer = ServerWriter(client, settings.collection)
    writer.upsert(
        points_from_records(icd_records(limit=80), tenant="default", dense=dense, sparse=sparse)
    )
    writer.close()
    yield settings
    delete_prefix(redis, prefix)


def test_a_read_only_empty_home_serves_searches_and_audits_to_the_log(production, caplog):
    with TestClient(create_app(production)) as client, caplog.at_level(logging.WARNING):
        ready = client.get("/readyz").json()
        assert ready["ready"] is True and ready["index_version"] == "catalyst_chunks"
        economy = client.post("/search", json={"query": "type 2 diabetes", "top_k": 5})
        assert economy.status_code == 200 and len(economy.json()["results"]) == 5
        premium = client.post("/search", json={"query": "type 2 diabetes", "mode": "premium"})
        body = premium.json()
        assert premium.status_code == 200, body
        assert (body["rerank_tier"], body["degraded"]) == ("local", True)
    audits = [
        json.loads(r.getMessage()) for r in caplog.records if r.name == "catalyst_search.audit"
    ]
    assert audits and audits[0]["event"] == "rerank_degraded"
    assert audits[0]["reason"] == "cohere_not_configured"
    assert not (production.home).exists()


def test_production_refuses_local_state_naming_each_setting():
    with pytest.raises(SettingsError) as refused:
        load_settings(profile="production", queue=None)
    message = str(refused.value)
    expected = ["CATALYST_INDEX_BACKEND=server", "CATALYST_STATE_URL", "CATALYST_ARTIFACT_STORE"]
    for setting in [*expected, "CATALYST_QUEUE=redis://"]:
        assert setting in message
    with pytest.raises(SettingsError, match="CATALYST_STATE_URL"):
        load_settings(state_url="sqlite:///x.db")


def test_an_ingest_request_with_no_queue_and_no_outbox_is_a_503_not_a_loss(production):
    down = production.model_copy(
        update={"queue": "redis://127.0.0.1:9/0", "source_roots": "s3://acme-docs/t/{tenant}"}
    )  # nothing answers on port 9, and the read-only home can hold no outbox
    with TestClient(create_app(down)) as client:
        response = client.post("/ingest/bulk", json={"sources": ["s3://acme-docs/t/default/x"]})
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "no outbox" in response.json()["detail"]
