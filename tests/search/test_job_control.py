"""Job stores (SQLite and Redis) list a tenant's jobs, record cancel requests, and keep webhook
deliveries that become due when the job ends."""

from __future__ import annotations

import time

import pytest

from catalyst_search.webhooks.deliveries import LEASE_S
from tests.search.test_stores import store  # noqa: F401  (fixture)


def _same_time(store, job_ids: list[str], at: float) -> None:  # noqa: F811
    """Give ``job_ids`` one creation time, as jobs accepted in the same microsecond have."""
    from catalyst_search.ingest_requests.redis_jobs import RedisJobStore

    if isinstance(store, RedisJobStore):
        for job_id in job_ids:
            store.client.zadd(store._tenant_key("acme"), {job_id: at})  # noqa: SLF001
            store.client.hset(store._job_key(job_id), "created_at", repr(at))  # noqa: SLF001
        return
    from catalyst_search.sqlite import connect

    with connect(store.path) as conn:
        conn.executemany("UPDATE jobs SET created_at = ? WHERE job_id = ?",
                         [(at, job_id) for job_id in job_ids])  # fmt: skip


def test_jobs_are_listed_per_tenant_newest_first_a_page_at_a_time(store):  # noqa: F811
    for n in range(5):
        store.create(job_id=f"a{n}", tenant_id="acme", sources=["/s"], metadata={})
        time.sleep(0.002)
    store.create(job_id="b0", tenant_id="beta", sources=["/s"], metadata={})
    first = store.list_jobs("acme", limit=2, after=None)
    assert [j.job_id for j in first] == ["a4", "a3"]
    second = store.list_jobs("acme", limit=10, after=(first[-1].created_at, first[-1].job_id))
    assert [j.job_id for j in second] == ["a2", "a1", "a0"]
    assert [j.job_id for j in store.list_jobs("beta", limit=10, after=None)] == ["b0"]
    assert store.list_jobs("nobody", limit=10, after=None) == []


def test_jobs_created_at_the_same_instant_are_neither_skipped_nor_repeated(store):  # noqa: F811
    ids = [f"t{n}" for n in range(7)]
    for job_id in ids:
        store.create(job_id=job_id, tenant_id="acme", sources=["/s"], metadata={})
    _same_time(store, ids, 1_700_000_000.25)
    seen, after = [], None
    while page := store.list_jobs("acme", limit=3, after=after):
        seen += [j.job_id for j in page]
        after = (page[-1].created_at, page[-1].job_id)
    assert seen == sorted(ids, reverse=True)


def test_cancel_never_overrides_a_run_that_started_meanwhile(store):  # noqa: F811
    store.create(job_id="j", tenant_id="t", sources=["/a"], metadata={})
    store.run_started("j", "/a", run_id="r1")  # started between the caller's read and cancel
    store.cancel("j")
    job = store.get("j")
    assert job.runs[0].status == "running" and job.status == "running"
    assert job.cancel_requested_at is not None
    store.run_finished("j", "/a", status="cancelled", error="stopped")
    store.run_finished("j", "/a", status="cancelled", error="stopped again")
    kinds = [e.kind for e in store.events("j", after=None, limit=100)]
    assert kinds.count("job_finished") == 1  # a job ends once, however often it is told


def test_cancel_ends_sources_not_started_and_leaves_running_ones_to_the_sensor(store):  # noqa: F811
    job = store.create(job_id="j", tenant_id="t", sources=["/a", "/b"], metadata={})
    store.run_started("j", "/a", run_id="r1")
    store.cancel("j")
    job = store.get("j")
    assert job.cancel_requested_at is not None
    assert [r.status for r in job.runs] == ["running", "cancelled"]
    assert job.runs[1].error == "cancelled before its run started"
    assert job.status == "running" and store.pending_cancels(limit=10) == ["j"]
    store.run_finished("j", "/a", status="cancelled", error="the run was cancelled")
    assert store.get("j").status == "cancelled"
    assert store.pending_cancels(limit=10) == []
    kinds = [e.kind for e in store.events("j", after=None, limit=100)]
    assert kinds.index("cancel_requested") < kinds.index("job_finished") == len(kinds) - 1


def test_webhook_deliveries_wait_for_the_end_then_are_claimed_once(store):  # noqa: F811
    store.create(job_id="j", tenant_id="t", sources=["/a"], metadata={})
    store.webhooks.register("j", "t", ["https://hooks.example/a"], "job")
    store.webhooks.register("j", "t", ["https://hooks.example/b"], "tenant")
    assert [d.state for d in store.webhooks.for_job("j")] == ["waiting", "waiting"]
    assert store.webhooks.claim_due(time.time(), limit=10) == []
    store.run_started("j", "/a", run_id="r1")
    store.run_finished("j", "/a", status="succeeded", failures=[])
    claimed = store.webhooks.claim_due(time.time(), limit=10)
    assert sorted(d.url for d in claimed) == ["https://hooks.example/a", "https://hooks.example/b"]
    assert store.webhooks.claim_due(time.time(), limit=10) == []  # leased to the first caller
    first = claimed[0]
    first.state, first.attempts, first.last_status = "delivered", 1, 204
    store.webhooks.record(first)
    second = claimed[1]
    second.state, second.attempts, second.next_at = "pending", 1, time.time() - 1
    second.last_error = "HTTP 500"
    store.webhooks.record(second)
    again = store.webhooks.claim_due(time.time(), limit=10)
    assert [d.delivery_id for d in again] == [second.delivery_id]
    assert again[0].attempts == 1 and again[0].last_error == "HTTP 500"
    states = {d.url: d.state for d in store.webhooks.for_job("j")}
    assert states[first.url] == "delivered" and states[second.url] == "pending"
    store.webhooks.job_finished("j")  # told again: a delivered webhook is not sent again
    assert {d.url: d.state for d in store.webhooks.for_job("j")} == states
    assert [d.origin for d in store.webhooks.for_job("j")] == ["job", "tenant"]


def test_webhooks_a_failed_update_left_waiting_are_made_due_by_the_next(store, monkeypatch):  # noqa: F811
    store.create(job_id="j", tenant_id="t", sources=["/a"], metadata={})
    store.webhooks.register("j", "t", ["https://hooks.example.com/x"], "job")
    made_due = store.webhooks.job_finished
    tries = []

    def blinks_once(job_id: str) -> None:
        tries.append(job_id)
        if len(tries) == 1:
            raise ConnectionError("the store blinked")
        made_due(job_id)

    monkeypatch.setattr(store.webhooks, "job_finished", blinks_once)
    with pytest.raises(ConnectionError):
        store.run_finished("j", "/a", status="succeeded", failures=[])
    assert store.get("j").status == "succeeded"  # ended, its webhook still waiting
    assert [d.state for d in store.webhooks.for_job("j")] == ["waiting"]
    store.run_finished("j", "/a", status="succeeded", failures=[])  # a step retry's update
    assert [d.state for d in store.webhooks.for_job("j")] == ["pending"]
    kinds = [e.kind for e in store.events("j", after=None, limit=50)]
    assert kinds.count("job_finished") <= 1  # the end is reported once


def test_an_attempt_is_recorded_only_while_its_claim_holds(store):  # noqa: F811
    store.create(job_id="j", tenant_id="t", sources=["/a"], metadata={})
    store.webhooks.register("j", "t", ["https://hooks.example/a"], "job")
    store.webhooks.job_finished("j")
    now = time.time()
    [stale] = store.webhooks.claim_due(now, limit=10)
    # its sender stalls past the lease: a second sender claims the delivery again
    [fresh] = store.webhooks.claim_due(now + LEASE_S + 1, limit=10)
    stale.state, stale.attempts, stale.next_at, stale.last_error = "pending", 1, now, "ReadError"
    assert not store.webhooks.record(stale)  # while the second is still sending
    fresh.state, fresh.attempts, fresh.last_status, fresh.next_at = "delivered", 1, 204, None
    assert store.webhooks.record(fresh)
    assert not store.webhooks.record(stale)  # nor after: the newer record stands
    [kept] = store.webhooks.for_job("j")
    assert (kept.state, kept.attempts, kept.last_status, kept.last_error) == (
        "delivered",
        1,
        204,
        None,
    )
    assert store.webhooks.claim_due(now + 3 * LEASE_S, limit=10) == []
    assert "lease" not in kept.view()
