"""The SDK against the live app, sync and async: search with the debug bundle, bounded retries
on 503 and 429 (honouring Retry-After), none on 422, and typed errors with the server's words."""

from __future__ import annotations

import asyncio
import threading
import time
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest
import requests

from catalyst_search.client import (
    AsyncCatalystClient,
    CatalystClient,
    InvalidRequest,
    NotFound,
    RetryPolicy,
    Unreachable,
    calls,
)
from catalyst_search.client.retries import parse_retry_after
from catalyst_search.index.embedded.writer import EmbeddedWriter
from catalyst_search.settings import load_settings
from tests.conftest import icd_records
from tests.helpers.index import points_from_records
from tests.helpers.live_app import live_app
from tests.helpers.services import free_port

QUERY = "type 2 diabetes with kidney complications"
PATIENT = RetryPolicy(attempts=20, backoff_s=0.1, max_wait_s=1.0)


def _publish(home: Path, dense, sparse) -> None:
    settings = load_settings(home=home)
    with EmbeddedWriter.open(settings.index_dir, lock_timeout_s=5) as writer:
        records = icd_records(limit=30, prefix="E11") + icd_records(limit=30)
        writer.upsert(points_from_records(records, tenant="default", dense=dense, sparse=sparse))
        writer.publish()


def _count(url: str, status: str, route: str = "/search") -> float:
    """``catalyst_http_requests_total`` for ``route`` and ``status`` from the app's /metrics."""
    for line in requests.get(f"{url}/metrics", timeout=5).text.splitlines():
        wanted = f'status="{status}"' in line and f'route="{route}"' in line
        if line.startswith("catalyst_http_requests_total{") and wanted:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, dense, sparse):
    home = tmp_path_factory.mktemp("sdk")
    _publish(home, dense, sparse)
    with live_app(load_settings(home=home)) as url:
        yield url


def test_sync_and_async_clients_search_with_the_debug_bundle(indexed):
    with CatalystClient(indexed) as client:
        sync = client.search(QUERY, top_k=5, debug=True)

    async def search() -> list[str]:
        async with AsyncCatalystClient(indexed) as client:
            found = await client.search(QUERY, top_k=5, debug=True)
            assert found.debug is not None
            return [hit.chunk_id for hit in found.hits]

    assert len(sync.hits) == 5 and sync.hits[0].document_id.startswith("E11")
    assert sync.debug is not None and sync.debug["results"]
    assert asyncio.run(search()) == [hit.chunk_id for hit in sync.hits]


def test_the_async_client_has_the_sync_clients_calls(indexed):
    def calls_of(cls: type) -> set[str]:
        return {name for name in dir(cls) if not name.startswith("_")} - {"close", "aclose"}

    assert calls_of(AsyncCatalystClient) == calls_of(CatalystClient)

    async def admin() -> None:
        async with AsyncCatalystClient(indexed) as client:
            assert (await client.ready())["ready"] is True
            assert await client.boost_versions() == []
            assert await client.list_keys() == []  # (no key made yet)
            with pytest.raises(NotFound):
                await client.activate_boosts("v-unknown")

    asyncio.run(admin())


def test_a_422_is_raised_at_once_with_the_servers_words(indexed):
    before = _count(indexed, "422")
    with CatalystClient(indexed, retry=PATIENT) as client, pytest.raises(InvalidRequest) as bad:
        client.search(QUERY, top_k=0)
    assert bad.value.status == 422 and "top_k" in bad.value.detail
    assert _count(indexed, "422") == before + 1  # sent once: never retried


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_search_retries_503_until_an_index_is_published(flavour, tmp_path, dense, sparse):
    """The service is up before any index: 503s, then the answer once one is published."""
    home = tmp_path / "home"
    with live_app(load_settings(home=home)) as url:
        publisher = threading.Timer(1.0, _publish, args=(home, dense, sparse))
        publisher.start()
        try:
            if flavour == "sync":
                with CatalystClient(url, retry=PATIENT) as client:
                    found = client.search(QUERY, top_k=3)
            else:

                async def search():
                    async with AsyncCatalystClient(url, retry=PATIENT) as client:
                        return await client.search(QUERY, top_k=3)

                found = asyncio.run(search())
        finally:
            publisher.join()
        assert len(found.hits) == 3
        assert _count(url, "503") >= 1 and _count(url, "200") == 1


def test_a_429_waits_for_retry_after_then_succeeds(tmp_path, dense, sparse):
    home = tmp_path / "home"
    _publish(home, dense, sparse)
    hasty = RetryPolicy(attempts=4, backoff_s=0.01, max_wait_s=2.0)  # backoff alone: ~0.1 s
    with live_app(load_settings(home=home, rate_search="2/second")) as url:
        with CatalystClient(url, retry=hasty) as client:
            started = time.monotonic()
            for _ in range(3):  # the third is over the budget of this second
                assert client.search(QUERY, top_k=1).hits
            waited = time.monotonic() - started
        refused = _count(url, "429")
    assert refused >= 1 and waited >= 0.9  # it waited what Retry-After said (1 s)


def test_an_unreachable_service_is_tried_again_then_reported():
    url = f"http://127.0.0.1:{free_port()}"
    policy = RetryPolicy(attempts=3, backoff_s=0.05)
    with CatalystClient(url, retry=policy) as client, pytest.raises(Unreachable) as down:
        client.health()
    assert down.value.status == 0 and "cannot reach" in down.value.detail


def test_an_ingest_is_not_sent_again_once_it_may_have_reached_the_service():
    policy = RetryPolicy(attempts=5, backoff_s=0.01)
    ingest = calls.Attempts(
        calls.submit_ingest(["/data"]), policy, base_url="http://svc", timeout_s=1
    )
    with pytest.raises(Unreachable):
        ingest.wait_after(httpx.ReadTimeout("no answer"))
    again = calls.Attempts(calls.submit_ingest(["/data"]), policy, base_url="u", timeout_s=1)
    assert again.wait_after(httpx.ConnectError("refused")) >= 0  # never sent: safe
    assert again.wait_after(httpx.Response(429, headers={"retry-after": "1"})) == 1.0
    with pytest.raises(Exception) as proxy:
        again.wait_after(httpx.Response(502, json={"detail": "bad gateway"}))
    assert getattr(proxy.value, "status", None) == 502
    search = calls.Attempts(calls.search("q"), policy, base_url="u", timeout_s=1)
    assert search.wait_after(httpx.ReadTimeout("no answer")) >= 0
    assert search.wait_after(httpx.Response(503, json={"detail": "no index"})) >= 0


def test_a_delete_takes_a_404_as_done_only_after_a_try_that_may_have_acted():
    policy = RetryPolicy(attempts=5, backoff_s=0.01)
    gone = httpx.Response(404, json={"detail": "no API key k1"})
    revoke = calls.Attempts(calls.revoke_key("k1"), policy, base_url="u", timeout_s=1)
    assert not revoke.call.answered(gone, revoke)  # a first try: it was not there
    revoke.wait_after(httpx.ConnectError("refused"))  # never sent
    revoke.wait_after(httpx.Response(429, headers={"retry-after": "0"}))  # refused before work
    revoke.wait_after(httpx.Response(503, json={"detail": "not ready"}))
    assert not revoke.call.answered(gone, revoke)
    revoke.wait_after(httpx.Response(502, json={"detail": "bad gateway"}))  # it went on
    assert revoke.call.answered(gone, revoke) and revoke.call.parse(gone) is None
    search = calls.Attempts(calls.search("q"), policy, base_url="u", timeout_s=1)
    search.wait_after(httpx.ReadTimeout("no answer"))
    assert not search.call.answered(gone, search)  # only deletes read a 404 so


def test_retry_waits_grow_with_jitter_and_honour_retry_after():
    policy = RetryPolicy(attempts=6, backoff_s=0.2, max_wait_s=1.0)
    for attempt, ceiling in enumerate([0.2, 0.4, 0.8, 1.0, 1.0]):
        waits = {policy.wait_s(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= w <= ceiling for w in waits) and len(waits) > 1
    assert policy.wait_s(5) is None  # the sixth attempt was the last
    assert policy.wait_s(0, "1") == 1.0
    assert policy.wait_s(0, "30") is None  # longer than max_wait_s: give up, say 429
    assert 3 <= (parse_retry_after(formatdate(time.time() + 5, usegmt=True)) or 0) <= 5
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_catalystctl_search_json_prints_the_apis_answer(indexed, capsys):
    import json

    from catalyst_search import cli

    assert cli.main(["search", QUERY, "--top-k", "2", "--json", "--url", indexed]) == 0
    printed = json.loads(capsys.readouterr().out)
    answer = requests.post(f"{indexed}/search", json={"query": QUERY, "top_k": 2}, timeout=30)
    assert set(printed) == set(answer.json()) and "results" in printed
    assert [r["chunk_id"] for r in printed["results"]] == [
        r["chunk_id"] for r in answer.json()["results"]
    ]
