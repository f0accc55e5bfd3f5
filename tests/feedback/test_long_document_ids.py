"""A document is known by its path under a source root, its URL or its S3 key, which can be
long: a search can filter on such an id, and feedback can name it, up to the 4,096 characters
an ingest source may have; other filter values stay at 256."""

from __future__ import annotations

import httpx

from catalyst_search.index.embedded.writer import EmbeddedWriter
from catalyst_search.settings import load_settings
from tests.conftest import icd_records
from tests.helpers.index import points_from_records
from tests.helpers.live_app import live_app

LONG_ID = "s3://records/" + "/".join(["department-of-endocrinology"] * 12) + "/e11.jsonl#E11"


def test_a_long_document_id_is_filtered_on_and_named_by_feedback(tmp_path, dense, sparse):
    records = icd_records(limit=8)
    records[0] = {**records[0], "id": LONG_ID}
    settings = load_settings(home=tmp_path / "home")
    with EmbeddedWriter.open(settings.index_dir, lock_timeout_s=5) as writer:
        writer.upsert(points_from_records(records, tenant="default", dense=dense, sparse=sparse))
        writer.publish()
    assert len(LONG_ID) > 256
    with live_app(settings) as url, httpx.Client(base_url=url, timeout=30) as http:
        body = {"query": records[0]["text"][:200], "filters": {"document_id": LONG_ID}}
        found = http.post("/search", json=body)
        assert found.status_code == 200, found.text
        assert [r["document_id"] for r in found.json()["results"]] == [LONG_ID]
        vote = {"query_id": found.json()["query_id"], "document_id": LONG_ID, "rating": 1}
        accepted = http.post("/feedback", json=vote)
        assert accepted.status_code == 200 and accepted.json()["recorded"] is True, accepted.text
        refused = {
            "document_id": "d" * 4097,
            "source": ["s" * 4097],
            "chapter": "c" * 257,
        }
        for key, value in refused.items():
            answer = http.post("/search", json={"query": "x", "filters": {key: value}})
            assert answer.status_code == 422 and key in answer.json()["detail"], answer.text
        too_long = http.post("/feedback", json={**vote, "document_id": "d" * 4097})
        assert too_long.status_code == 422
