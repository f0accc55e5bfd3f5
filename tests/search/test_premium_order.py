"""Premium reranks economy's fused order: each leg brings the same candidates, so DBSF
normalizes the same scores, and a rerank that keeps the order returns economy's results."""

from __future__ import annotations

from catalyst_search.index.embedded.writer import EmbeddedWriter
from catalyst_search.retrieval.factory import build_retriever
from catalyst_search.retrieval.rerank import local
from catalyst_search.settings import load_settings
from tests.conftest import icd_records
from tests.helpers.index import points_from_records


def test_premium_starts_from_economys_fused_order(tmp_path, dense, sparse, monkeypatch):
    with EmbeddedWriter.open(tmp_path / "index", lock_timeout_s=5) as writer:
        records = icd_records(limit=300)
        writer.upsert(points_from_records(records, tenant="default", dense=dense, sparse=sparse))
        writer.publish()
    monkeypatch.setattr(local, "SIMILARITY_WEIGHT", 0.0)  # the local tier keeps the fused order
    retriever = build_retriever(load_settings(home=tmp_path, rerank_tiers="local"))
    try:
        found = {
            mode: retriever.search(
                tenant_id="default", query="diabetes with kidney disease", mode=mode, debug=True
            )
            for mode in ("economy", "premium")
        }
    finally:
        retriever.close()
    economy, premium = found["economy"], found["premium"]
    assert premium.rerank_tier == "local"
    assert economy.debug is not None and premium.debug is not None
    legs = [r.debug["backend_query"]["prefetch_limit"] for r in (economy, premium)]
    assert legs[0] == legs[1]
    assert [r.hit.id for r in premium.hits] == [r.hit.id for r in economy.hits]
