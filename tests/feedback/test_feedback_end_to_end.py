"""Feedback through the HTTP API becomes boosts through real Dagster runs: searches are logged,
votes on a lower result and against the top one pass the evidence threshold, tuning drains the
log, computes a version, checks it on the evaluation queries and publishes it; the next search
is ordered differently and says why. One vote changes nothing; a version that would lower
quality is kept back and the live one stays; an earlier version comes back with one call."""

from __future__ import annotations

import json
import time

import dagster as dg
import httpx
import pytest

from catalyst_orchestration.tune import drain_and_tune
from catalyst_search.client.models import SearchResults
from catalyst_search.settings import load_settings
from tests.client.test_sdk import _publish

QUERY = "type 2 diabetes with kidney complications"


#: evaluation queries: one the votes below do not touch, and the voted query with its labels
THYROID = {"query": "congenital iodine deficiency syndrome", "relevant": ["E00", "E00.0"]}
KIDNEY = {"query": QUERY, "relevant": ["E11.2", "E11.21", "E11.22", "E11.29"]}


@pytest.fixture
def service(request, catalyst_home, tmp_path, monkeypatch, dense, sparse):
    from tests.helpers.live_app import live_app

    queries = tmp_path / "eval.jsonl"
    queries.write_text("".join(json.dumps(q) + "\n" for q in request.param))
    monkeypatch.setenv("CATALYST_EVAL_QUERIES", str(queries))
    monkeypatch.setenv("CATALYST_BOOST_REFRESH_S", "0")
    _publish(catalyst_home, dense, sparse)
    with live_app(load_settings()) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield http


def _search(http: httpx.Client, **extra) -> dict:
    answer = http.post("/search", json={"query": QUERY, "top_k": 10, **extra})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _vote(http: httpx.Client, times: int, document_id: str, rating: int) -> None:
    for _ in range(times):  # a fresh search each time: one vote per search counts
        found = _search(http)
        ids = [r["document_id"] for r in found["results"]]
        assert document_id in ids
        body = {"query_id": found["query_id"], "document_id": document_id, "rating": rating}
        assert http.post("/feedback", json=body).json()["recorded"] is True


def _tune() -> dict:
    with dg.instance_for_test() as instance:
        return drain_and_tune(instance)


@pytest.mark.parametrize("service", [[THYROID]], indirect=True)
def test_feedback_reorders_search_after_tuning_and_a_single_vote_does_nothing(service):
    http = service
    before = [r["document_id"] for r in _search(http)["results"]]
    top, lower = before[0], before[3]
    _vote(http, 4, lower, 1)
    _vote(http, 4, top, -1)
    single = before[5]
    _vote(http, 1, single, 1)
    outcome = _tune()
    assert outcome["published"] and outcome["check_passed"], outcome
    after = _search(http, debug=True)
    ranked = [r["document_id"] for r in after["results"]]
    position = {d: n for n, d in enumerate(ranked)}
    assert position[lower] < position.get(top, len(ranked)), (before, ranked)
    assert after["boost_version"] == outcome["version"]
    assert SearchResults.from_json(after).boost_version == outcome["version"]  # the SDK's too
    explained = {r["document_id"]: r for r in after["debug"]["results"]}
    assert explained[lower]["boost"] > 1
    demoted = _search(http, debug=True, filters={"document_id": top})["debug"]["results"][0]
    assert demoted["boost"] < 1 and demoted["boosts"][0]["evidence"] == 4
    kinds = {b["kind"] for b in explained[lower]["boosts"]}
    assert kinds == {"query", "term"}  # per-document boosts are off by default
    assert all(b["evidence"] >= 3 for b in explained[lower]["boosts"])
    assert explained[single]["boosts"] == []  # one vote is below the evidence threshold
    assert after["debug"]["boost_version"] == outcome["version"]
    versions = http.get("/feedback/boosts").json()
    assert [v["live"] for v in versions] == [True]
    assert versions[0]["stats"]["documents_boosted"] >= 1


@pytest.mark.parametrize("service", [[THYROID, KIDNEY]], indirect=True)
def test_a_harmful_version_is_kept_back_and_an_earlier_one_can_be_restored(service):
    http = service
    first = [r["document_id"] for r in _search(http)["results"]]
    relevant = [d for d in first if d.startswith("E11.2")]
    _vote(http, 3, relevant[0], 1)
    good = _tune()
    assert good["published"], good
    for document_id in relevant:  # now bury every relevant result, lift the others
        _vote(http, 6, document_id, -1)
    for document_id in [d for d in first if not d.startswith("E11.2")][:4]:
        _vote(http, 6, document_id, 1)
    bad = _tune()
    assert bad["version"] != good["version"]
    assert not bad["check_passed"] and not bad["published"], bad
    assert "drops" in " ".join(bad["check"])
    versions = {v["version"]: v for v in http.get("/feedback/boosts").json()}
    assert versions[good["version"]]["live"] and not versions[bad["version"]]["live"]
    assert _search(http)["boost_version"] == good["version"]

    restored = http.post(f"/feedback/boosts/{bad['version']}/activate").json()
    assert restored["live"] is True  # an admin may still force it: one call each way
    assert _search(http)["boost_version"] == bad["version"]
    assert http.post(f"/feedback/boosts/{good['version']}/activate").json()["live"]
    deadline = time.monotonic() + 5
    while _search(http)["boost_version"] != good["version"]:
        assert time.monotonic() < deadline
    assert http.post("/feedback/boosts/nope/activate").status_code == 404
