"""Boosts in premium search: a hosted reranker's scores replace the fused ones, and the live
boosts scale them as they scaled those (Cohere's wire format from a local server)."""

from __future__ import annotations

import pytest

from tests.search.test_premium import QUERY, _client, cohere, index_home  # noqa: F401 (fixtures)


def test_live_boosts_scale_the_hosted_rerankers_scores(index_home, cohere):  # noqa: F811
    from catalyst_search.feedback.boosts import FixedBoosts, LiveBoosts

    client, _ = _client(index_home, cohere)
    with client:
        plain = client.post("/search", json=QUERY).json()["results"]
        last = plain[-1]["document_id"]  # voted up for this query, by a version now live
        boosts = {"documents": {}, "terms": {}, "queries": {f"{QUERY['query']}\t{last}": [2.0, 9]}}
        client.app.state.retriever.boosts = FixedBoosts(LiveBoosts("v1", boosts))
        body = client.post("/search", json=QUERY).json()
    assert body["rerank_tier"] == "cohere" and body["boost_version"] == "v1"
    moved = next(r for r in body["results"] if r["document_id"] == last)
    before = next(r for r in plain if r["document_id"] == last)
    assert moved["score"] == pytest.approx(2 * before["score"])  # the reranker's score, doubled
    ids = [r["document_id"] for r in body["results"]]
    assert ids.index(last) < len(ids) - 1  # and it moved up
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)
