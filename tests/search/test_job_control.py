"""Job stores (SQLite and Redis) list a tenant's jobs, record cancel requests, and keep webhook
deliveries that become due when the job ends."""

from __future__ import annotations

import time

from tests.search.test_stores import store  # noqa: F401  (fixture)


def test_jobs_are_listed_per_tenant_newest_first_a_page_at_a_time(store):  # noqa: F811
    for n in range(5):
        store.create(job_id=f"a{n}", tenant_id="acme", sources=["/s"], metadata={})
        time.sleep(0.002)
    store.create(job_id="b0", tenant_id="beta", sources=["/s"], metadata={})
    first = store.list_jobs("acme", limit=2, before=None)
    assert [j.job_id for j in first] == ["a4", "a3"]
    second = store.list_jobs("acme", limit=10, before=first[-1].created_at)
    assert [j.job_id for j in second] == ["a2", "a1", "a0"]
    assert [j.job_id for j in store.list_jobs("beta", limit=10, before=None)] == ["b0"]
    assert store.list_jobs("nobody", limit=10, before=None) == []


def test_cancel_ends_sources_not_started_and_leaves_running_ones_to_the_sensor(store):  # noqa: F811
    job = store.create(job_id="j", tenant_id="t", sources=["/a", "/b"], metadata={})
    store.run_started("j", "/a", run_id="r1")
    store.cancel(store.get("j"))
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
    store.webhooks.register("j", "t", ["https://hooks.example/a", "https://hooks.example/b"])
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
