"""Abuse limits: body size (413), field and filter bounds (422), per-tenant rates (429), time."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from catalyst_search.api.app import create_app
from catalyst_search.auth.limits import TenantLimiter
from catalyst_search.index.embedded.writer import EmbeddedWriter
from catalyst_search.settings import load_settings
from tests.conftest import icd_records
from tests.helpers.index import points_from_records
from tests.helpers.services import MACHINE_REDIS, delete_prefix, machine_redis, unique_prefix
from tests.helpers.tokens import SECRET, claims, hs256


def _serve(home, dense, sparse, **overrides):
    settings = load_settings(home=home, auth="jwt", jwt_secret=SECRET, **overrides)
    records = icd_records(limit=40)
    with EmbeddedWriter.open(settings.index_dir, lock_timeout_s=5) as writer:
        for tenant in ("t1", "t2"):
            writer.upsert(points_from_records(records, tenant=tenant, dense=dense, sparse=sparse))
        writer.publish()
    return TestClient(create_app(settings))


def _as(tenant: str, roles: tuple[str, ...] = ("search", "ingest")) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {hs256(claims(tenant=tenant, roles=roles, aud=None, iss=None))}"
    }


@pytest.fixture(scope="module")
def limited(tmp_path_factory, dense, sparse):
    home = tmp_path_factory.mktemp("limits")
    with _serve(home, dense, sparse, rate_search="3/second", max_body_bytes=2048) as client:
        yield client


@pytest.fixture(scope="module")
def plain(tmp_path_factory, dense, sparse):
    with _serve(tmp_path_factory.mktemp("plain"), dense, sparse) as client:
        yield client


def test_search_rate_limit_answers_429_with_retry_after_and_recovers(limited):
    time.sleep(1.1)  # a fresh window
    statuses = [
        limited.post("/search", json={"query": "goitre"}, headers=_as("t1")).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 200]
    refused = limited.post("/search", json={"query": "goitre"}, headers=_as("t1"))
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "3 per 1 second" in refused.json()["detail"]
    # another tenant has its own budget
    assert limited.post("/search", json={"query": "goitre"}, headers=_as("t2")).status_code == 200
    time.sleep(float(refused.headers["retry-after"]) + 0.1)
    assert limited.post("/search", json={"query": "goitre"}, headers=_as("t1")).status_code == 200
    assert 'catalyst_rate_limited_total{action="search"}' in limited.get("/metrics").text


def test_the_index_count_and_analytics_draw_on_the_search_rate(limited):
    time.sleep(1.1)  # a fresh window
    calls = [
        lambda: limited.get("/index", headers=_as("t1")),
        lambda: limited.get("/feedback/analytics", headers=_as("t1")),
        lambda: limited.post("/search", json={"query": "goitre"}, headers=_as("t1")),
    ]
    assert [call().status_code for call in calls] == [200, 200, 200]
    assert [call().status_code for call in calls] == [429, 429, 429]  # one budget: spent


def test_a_body_over_the_limit_answers_413(limited):
    big = {"query": "x" * 3000}
    response = limited.post("/search", json=big, headers=_as("t1"))
    assert response.status_code == 413

    def chunks():  # no Content-Length: the limit holds while streaming too
        yield b'{"query": "'
        for _ in range(10):
            yield b"y" * 500
        yield b'"}'

    headers = {**_as("t1"), "Content-Type": "application/json"}
    streamed = limited.post("/search", content=chunks(), headers=headers)
    assert streamed.status_code == 413


@pytest.mark.parametrize(
    "body, limit",
    [
        ({"query": "q" * 4097}, "4096"),
        ({"query": "diabetes", "top_k": 101}, "100"),
        ({"query": "diabetes", "filters": {f"k{i}": "v" for i in range(33)}}, "32"),
        ({"query": "diabetes", "filters": {"icd_codes": [f"E{i}" for i in range(65)]}}, "64"),
        ({"query": "diabetes", "filters": {"chapter": "v" * 257}}, "256"),
        ({"query": "diabetes", "filters": {"must": {"must": {"chapter": "4"}}}}, "must.must"),
        ({"query": "diabetes", "filters": {"tenant_id": "t2"}}, "tenant_id"),
    ],
)
def test_bounds_answer_422_naming_the_limit(plain, body, limit):
    response = plain.post("/search", json=body, headers=_as("t1"))
    assert response.status_code == 422, response.text
    assert limit in response.json()["detail"]


def test_sources_per_job_are_bounded(plain):
    sources = [f"/data/{i}" for i in range(101)]
    response = plain.post("/ingest/bulk", json={"sources": sources}, headers=_as("t1"))
    assert response.status_code == 422
    assert "100" in response.json()["detail"]


def test_a_search_past_its_time_answers_504(tmp_path, dense, sparse):
    with _serve(tmp_path / "home", dense, sparse, search_timeout_s=0.0001) as client:
        response = client.post("/search", json={"query": "diabetes"}, headers=_as("t1"))
        assert response.status_code == 504
        assert "catalyst_search_timeouts_total 1.0" in client.get("/metrics").text


def test_an_index_that_gives_up_inside_a_search_answers_503_not_a_timeout(tmp_path, dense, sparse):
    """Only the caller's deadline is a 504; a read the index itself timed out (a helper that
    did not answer) is the index's trouble, to retry, and not counted as a slow search."""
    with _serve(tmp_path / "home", dense, sparse, search_timeout_s=10) as client:

        def silent(**kwargs):
            raise TimeoutError("the index reader process did not answer in 30s")

        client.app.state.retriever.search = silent
        response = client.post("/search", json={"query": "diabetes"}, headers=_as("t1"))
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "1"
        assert "did not answer in 30s" in response.json()["detail"]
        assert "catalyst_search_timeouts_total 0.0" in client.get("/metrics").text


def test_redis_limits_are_shared_by_every_replica():
    client = machine_redis()
    prefix = unique_prefix()
    settings = load_settings(queue=MACHINE_REDIS, redis_prefix=prefix, rate_ingest="2/minute")
    try:
        replicas = [TenantLimiter(settings), TenantLimiter(settings)]
        assert replicas[0].retry_after("t1", "ingest") is None
        assert replicas[1].retry_after("t1", "ingest") is None
        wait = replicas[0].retry_after("t1", "ingest")
        assert wait is not None and 1 <= wait <= 60
        assert replicas[1].retry_after("t2", "ingest") is None
        assert list(client.scan_iter(f"{prefix}:limits*"))
    finally:
        delete_prefix(client, prefix)
        for key in client.scan_iter(f"{prefix}:limits*"):
            client.delete(key)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_in_process_window_is_a_moving_window_per_tenant_and_action(monkeypatch):
    from limits import parse

    from catalyst_search.auth.limits import MovingWindow

    clock = _Clock()
    monkeypatch.setattr("catalyst_search.auth.limits.time.monotonic", clock)
    window, rate = MovingWindow(), parse("2/minute")
    assert window.retry_after(rate, "t1", "ingest") is None
    clock.now += 40
    assert window.retry_after(rate, "t1", "ingest") is None
    clock.now += 10  # 50 s after the first hit: a fixed window would have reset at 60
    assert window.retry_after(rate, "t1", "ingest") == pytest.approx(10)
    assert window.retry_after(rate, "t2", "ingest") is None  # its own budget
    assert window.retry_after(rate, "t1", "search") is None  # and per action
    clock.now += 10  # the first hit left the window; the second (at 40 s) stays until 100
    assert window.retry_after(rate, "t1", "ingest") is None
    assert window.retry_after(rate, "t1", "ingest") == pytest.approx(40)


def test_the_in_process_window_forgets_idle_tenants_only_after_their_own_period(monkeypatch):
    from limits import parse

    from catalyst_search.auth.limits import MovingWindow

    clock = _Clock()
    monkeypatch.setattr("catalyst_search.auth.limits.time.monotonic", clock)
    monkeypatch.setattr(MovingWindow, "SWEEP_EVERY", 2)
    window = MovingWindow()
    slow, fast = parse("1/hour"), parse("100/second")
    assert window.retry_after(slow, "t1", "ingest") is None
    for tenant in ("a", "b", "c"):
        window.retry_after(fast, tenant, "search")
    clock.now += 5  # the searches' second is over; the hour is not
    window.retry_after(fast, "d", "search")
    window.retry_after(fast, "d", "search")  # a sweep
    assert window.retry_after(slow, "t1", "ingest") is not None  # still limited
    assert {key[0] for key in window._hits} == {"t1", "d"}


def test_the_in_process_limit_starts_no_thread(tmp_path):
    import threading

    limiter = TenantLimiter(load_settings(home=tmp_path, rate_search="100000/second"))
    assert not limiter.shared
    before = threading.active_count()
    for _ in range(200):
        assert limiter.retry_after("t1", "search") is None
        time.sleep(0.0005)
    assert threading.active_count() == before
