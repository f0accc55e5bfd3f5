"""The feedback store, SQLite and Redis alike: searches found by their tenant only, feedback
kept once, drained by day and acknowledged, hourly counters and per-query counts, boost
versions with one live per tenant."""

from __future__ import annotations

import sqlite3

import pytest

from catalyst_search.feedback.records import FeedbackEvent, LoggedResult, SearchRecord
from catalyst_search.feedback.redis_store import RedisFeedbackStore
from catalyst_search.feedback.sqlite_store import SqliteFeedbackStore
from tests.helpers.services import delete_prefix, machine_redis, unique_prefix

T0 = 1_796_000_000.0 - 1_796_000_000.0 % 86400  # a UTC midnight, days ago


@pytest.fixture(params=["sqlite", "redis"])
def store(request, tmp_path):
    if request.param == "sqlite":
        yield SqliteFeedbackStore(tmp_path / "feedback.sqlite")
        return
    client = machine_redis()
    prefix = unique_prefix()
    yield RedisFeedbackStore(client, prefix=prefix)
    delete_prefix(client, prefix)


def search(query_id: str, at: float, *, tenant: str = "t", results: int = 3) -> SearchRecord:
    found = [LoggedResult(f"c{n}", f"d{n}", n + 1) for n in range(results)]
    return SearchRecord(query_id, tenant, "Kidney  Disease", {}, "economy", "text", found, at)


def vote(
    query_id: str, document: str, rating: int, at: float, kind: str = "vote", tenant: str = "t"
) -> FeedbackEvent:
    return FeedbackEvent(
        event_id=FeedbackEvent.make_id(query_id, document, kind), query_id=query_id,
        tenant_id=tenant, query="kidney disease", document_id=document, chunk_id=None, rank=1,
        rating=rating, kind=kind, comment="", at=at,  # type: ignore[arg-type]
    )  # fmt: skip


def test_searches_are_found_by_their_own_tenant_only(store):
    import time

    now = time.time()
    store.log_searches([search("q1", now), search("q2", now, tenant="u")])
    assert store.search("t", "q1").results[1] == LoggedResult("c1", "d1", 2)
    assert store.search("u", "q1") is None and store.search("t", "q2") is None


def test_feedback_is_kept_once_and_drained_by_day(store):
    import time

    day2 = T0 + 86400
    arrived = time.time()
    assert store.add_feedback(vote("q1", "d1", 1, T0 + 10))
    assert not store.add_feedback(vote("q1", "d1", 1, T0 + 20))  # the same feedback again
    assert store.add_feedback(vote("q1", "d1", 1, T0 + 30, kind="click"))
    assert store.add_feedback(vote("q2", "d2", -1, day2 + 5))
    assert store.pending_count() == 3
    if isinstance(store, SqliteFeedbackStore):
        assert store.oldest_pending() == pytest.approx(T0 + 10, abs=1e-3)
        first_day = store.pending(T0, T0 + 86400, limit=10)
        assert [e.kind for e in first_day] == ["vote", "click"]
        store.ack([e.event_id for e in first_day])
        assert [e.document_id for e in store.pending(day2, day2 + 86400, limit=10)] == ["d2"]
        assert store.pending_count() == 1
    else:  # Redis keeps arrival time (the stream's ids), not the event's own
        oldest = store.oldest_pending()
        assert oldest is not None and arrived - 1 <= oldest <= time.time() + 1
        everything = store.pending(0, time.time() + 60, limit=10)
        assert len(everything) == 3
        store.ack([everything[0].event_id])
        assert store.pending_count() == 2
        assert [e.event_id for e in store.pending(0, time.time() + 60, limit=10)] == [
            e.event_id for e in everything[1:]
        ]


def test_counters_add_up_per_hour_and_queries_per_day(store):
    store.log_searches([search("a", T0 + 100), search("b", T0 + 200, results=0),
                        search("c", T0 + 3700)])  # fmt: skip
    store.add_feedback(vote("a", "d0", 1, T0 + 150))
    store.add_feedback(vote("a", "d1", -1, T0 + 160))
    store.add_feedback(vote("a", "d0", 1, T0 + 170, kind="click"))
    counts = store.counters("t", T0, T0 + 7200)
    assert counts[int(T0)] == {"searches": 2, "zero_results": 1, "feedback": 3, "positive": 2,
                               "negative": 1, "clicks": 1}  # fmt: skip
    assert counts[int(T0) + 3600] == {"searches": 1}
    assert store.counters("u", T0, T0 + 7200) == {}
    assert store.queries("t", T0, T0 + 86400, top=10) == {"kidney disease": (3, 1)}


def test_only_the_top_queries_by_searches_and_by_negatives_leave_the_store(store):
    records, events = [], []
    for n in range(12):  # query n searched n + 1 times; queries 0 to 2 rated down 5 - n times
        query = f"query {n:02d}"
        for k in range(n + 1):
            records.append(SearchRecord(f"q{n}-{k}", "t", query, {}, "economy", "text", [], T0))
        for k in range(5 - n if n < 3 else 0):
            events.append(FeedbackEvent(
                event_id=FeedbackEvent.make_id(f"q{n}-{k}", "d", "vote"), query_id=f"q{n}-{k}",
                tenant_id="t", query=query, document_id="d", chunk_id=None, rank=1, rating=-1,
                kind="vote", comment="", at=T0 + 1,
            ))  # fmt: skip
    store.log_searches(records)
    for event in events:
        store.add_feedback(event)
    top = store.queries("t", T0, T0 + 86400, top=2)
    assert top == {"query 11": (12, 0), "query 10": (11, 0), "query 00": (1, 5),
                   "query 01": (2, 4)}  # fmt: skip


def test_boost_versions_one_live_per_tenant(store):
    assert store.live_boosts("t") is None and store.boost_versions("t") == []
    store.put_boosts("t", "v1", {"documents": {"d": [1.2, 3]}}, {"events": 3})
    store.put_boosts("t", "v2", {"documents": {"d": [0.8, 5]}}, {"events": 5})
    assert store.activate("t", "v1") and not store.activate("t", "nope")
    assert not store.activate("u", "v1")  # another tenant's version
    assert store.live_boosts("t") == ("v1", {"documents": {"d": [1.2, 3]}})
    assert [(v.version, v.live) for v in store.boost_versions("t")] == [("v2", False),
                                                                       ("v1", True)]  # fmt: skip
    store.activate("t", "v2")
    assert store.live_version("t") == "v2" and store.get_boosts("t", "v1") is not None


def test_live_tenants_are_those_with_a_live_version_older_ones_included(store):
    blob = {"documents": {"d1": [1.2, 3]}, "terms": {}, "queries": {}}
    for tenant in ("t1", "t2", "t3"):
        store.put_boosts(tenant, "v1", blob, {})
    store.activate("t1", "v1")
    store.activate("t3", "v1")
    if isinstance(store, RedisFeedbackStore):  # a live version made before the set was kept
        store.client.delete(f"{store.p}:boosts-live")
        store.client.set(f"{store.p}:boosts:t2:live", "v1")
    else:
        store.activate("t2", "v1")
    assert store.live_tenants() == ["t1", "t2", "t3"]


def test_sqlite_forgets_acknowledged_feedback_once_it_cannot_come_again(tmp_path):
    import time

    store = SqliteFeedbackStore(tmp_path / "feedback.sqlite")
    now = time.time()
    old, recent = vote("q-old", "d1", 1, now - 40 * 86400), vote("q-new", "d1", 1, now)
    assert store.add_feedback(old) and store.add_feedback(recent)
    store.ack([old.event_id, recent.event_id])
    with sqlite3.connect(tmp_path / "feedback.sqlite") as conn:
        kept = [row[0] for row in conn.execute("SELECT event_id FROM feedback")]
    assert kept == [recent.event_id]  # the old one's search is long gone: no repeat can come
    assert not store.add_feedback(recent)  # the recent one is still recorded once


def test_redis_query_counts_kept_as_hashes_before_are_read_once_then_kept_sorted():
    from catalyst_search.feedback.store import day_of

    client, prefix = machine_redis(), unique_prefix()
    store = RedisFeedbackStore(client, prefix=prefix)
    try:
        day = day_of(T0)
        client.hset(f"{store.p}:q:t:{day}", mapping={"old query": 4, "another": 1})
        client.hset(f"{store.p}:qn:t:{day}", mapping={"old query": 2})
        store.log_searches([search("s1", T0 + 60)])  # "kidney disease", counted the new way
        expected = {"old query": (4, 2), "another": (1, 0), "kidney disease": (1, 0)}
        assert store.queries("t", T0, T0 + 86400, top=10) == expected
        assert not client.exists(f"{store.p}:q:t:{day}", f"{store.p}:qn:t:{day}")
        assert store.queries("t", T0, T0 + 86400, top=10) == expected  # from the sorted sets
        assert not list(client.scan_iter(f"{store.p}:tmp:*"))  # its sums are not left behind
    finally:
        delete_prefix(client, prefix)
