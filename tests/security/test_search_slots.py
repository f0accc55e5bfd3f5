"""Searches in flight are bounded (``CATALYST_SEARCH_CONCURRENCY``): past the bound a search is
refused at once with 503 and ``Retry-After``, and a search answered 504 keeps its slot until
its thread has ended, so slow work fills the slots, not the thread pool every route shares:
searches run in the slots' own threads."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from tests.security.test_limits import _as, _serve


async def _threads() -> tuple[float, int]:
    import anyio.to_thread

    limiter = anyio.to_thread.current_default_thread_limiter()
    return limiter.total_tokens, limiter.borrowed_tokens


def test_searches_past_the_bound_are_refused_until_the_work_in_flight_ends(tmp_path, dense, sparse):
    with _serve(
        tmp_path / "home", dense, sparse, search_concurrency=1, search_timeout_s=0.5
    ) as client:
        retriever = client.app.state.retriever
        search, entered, gate, ended = retriever.search, threading.Event(), threading.Event(), []

        def stuck(**kwargs):  # an index that does not answer, until the gate opens
            entered.set()
            gate.wait(timeout=30)
            try:
                return search(**kwargs)
            finally:
                ended.append(time.monotonic())

        retriever.search = stuck

        def post():
            return client.post("/search", json={"query": "goitre"}, headers=_as("t1"))

        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(post)
            assert entered.wait(timeout=10)
            refused = post()  # while the first runs
            assert first.result(timeout=10).status_code == 504
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "1"
        assert "CATALYST_SEARCH_CONCURRENCY" in refused.json()["detail"]
        assert post().status_code == 503  # answered 504, but its thread still works
        retriever.search = search
        gate.set()
        statuses, deadline = [], time.monotonic() + 10
        while 200 not in statuses and time.monotonic() < deadline:  # the thread ends, then
            statuses.append(post().status_code)  # gives its slot back as it returns
            time.sleep(0.01)
        assert ended and statuses[-1] == 200, statuses  # a slot not given back: 503 for ever
        shed = 2 + statuses.count(503)
        assert f"catalyst_search_shed_total {shed:.1f}" in client.get("/metrics").text


def test_a_search_abandoned_before_a_thread_took_it_frees_its_slot_and_is_skipped():
    from catalyst_search.api.slots import SearchSlots

    slots = SearchSlots(1)
    waiting = slots.take("t1")  # queued for a worker thread, all of them busy
    assert waiting is not None and slots.take("t2") is None
    waiting.abandon()  # its caller was answered 504 first
    assert waiting.start() is False  # the thread that takes it at last does nothing
    running = slots.take("t1")
    assert running is not None and running.start()
    running.abandon()  # answered 504 while its thread runs: the slot stays taken
    assert slots.take("t2") is None
    running.finish()
    assert slots.take("t2") is not None


def test_a_tenant_holds_at_most_half_the_slots():
    from catalyst_search.api.slots import SearchSlots

    slots = SearchSlots(4)
    mine = [slots.take("t1"), slots.take("t1")]
    assert all(mine) and slots.take("t1") is None  # its half
    others = [slots.take("t2"), slots.take("t3")]
    assert all(others) and slots.take("t4") is None  # all four in flight
    for slot in (mine[0], others[0]):
        assert slot is not None and slot.start()
        slot.finish()
    assert slots.take("t1") is not None and slots.take("t4") is not None


def test_searches_run_in_their_own_threads_and_leave_anyios_to_the_other_routes(
    tmp_path, dense, sparse
):
    with _serve(
        tmp_path / "home", dense, sparse, search_concurrency=2, search_timeout_s=5
    ) as client:
        retriever = client.app.state.retriever
        search, entered, gate, threads = retriever.search, threading.Event(), threading.Event(), []

        def stuck(**kwargs):
            threads.append(threading.current_thread().name)
            entered.set()
            gate.wait(timeout=30)
            return search(**kwargs)

        retriever.search = stuck
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(client.post, "/search", json={"query": "goitre"}, headers=_as("t1"))
            assert entered.wait(timeout=10)
            assert client.portal is not None
            assert client.portal.call(_threads) == (40, 0)  # AnyIO's: untouched, none borrowed
            gate.set()
            assert first.result(timeout=10).status_code == 200
        assert threads == ["search_0"]
