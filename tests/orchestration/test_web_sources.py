"""Web sources against local HTTP servers: plain pages (with robots.txt, redirects and injected
faults) and a server speaking Firecrawl's documented v2 API. Transient failures (429 with
Retry-After, 5xx, timeouts, malformed bodies) succeed after retries; permanent ones (404,
robots disallow, oversize, a refused redirect) are recorded once, untried again; the job record
that ``GET /ingest/jobs/{id}`` shows tells them apart."""

from __future__ import annotations

import json
import time
import uuid

import dagster as dg
import pytest
from fastapi.testclient import TestClient

from catalyst_orchestration.defs.monitoring.runs import read_run
from catalyst_orchestration.defs.partitions import register_source
from catalyst_orchestration.defs.resources import ingest_resources
from catalyst_orchestration.lib.run_metrics import IngestTotals
from catalyst_orchestration.lib.state import StateStore
from catalyst_search.api.app import create_app
from catalyst_search.ingest_requests.contract import JOB_TAG
from catalyst_search.ingest_requests.sqlite_jobs import SqliteJobStore
from catalyst_search.settings import get_settings, load_settings
from tests.helpers.fake_firecrawl import KEY, FakeFirecrawl
from tests.helpers.fake_web import FakeSite
from tests.orchestration.helpers import ASSETS


@pytest.fixture
def web(catalyst_home, monkeypatch):
    for name, value in {
        "CATALYST_OUTBOUND_ALLOW": "127.0.0.1",
        "CATALYST_FETCH_TIMEOUT_S": "1",
        "CATALYST_FETCH_BACKOFF_S": "0.05",
        "CATALYST_FETCH_ATTEMPTS": "3",
        "CATALYST_FETCH_MAX_BYTES": "100000",
        "CATALYST_FETCH_USER_AGENT": "CatalystTest/1.0",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with FakeSite() as site, dg.instance_for_test() as instance:
        yield site, instance
    get_settings.cache_clear()


def run_job(instance: dg.DagsterInstance, sources: list[str]) -> dict:
    """One job over ``sources``, each ingested in its run; returns the API's view of the job."""
    settings = load_settings()
    jobs = SqliteJobStore(settings.jobs_db)
    job_id = uuid.uuid4().hex
    jobs.create(job_id=job_id, tenant_id="default", sources=sources, metadata={})
    state = StateStore(settings.state_db)
    for uri in sources:
        partition = register_source(instance, state, tenant_id="default", uri=uri).partition_key
        result = dg.materialize(
            ASSETS,
            instance=instance,
            partition_key=partition,
            resources=ingest_resources(),
            tags={JOB_TAG: job_id},
            raise_on_error=False,
        )
        assert result.success, uri
    with TestClient(create_app(settings)) as client:
        response = client.get(f"/ingest/jobs/{job_id}")
    assert response.status_code == 200
    return response.json()


def by_source(view: dict) -> dict[str, dict]:
    return {source["source"]: source for source in view["sources"]}


def test_plain_pages_retry_transient_failures_and_record_permanent_ones(web):
    site, instance = web
    base = site.base
    ok = [f"{base}/article", f"{base}/rate-limited", f"{base}/flaky", f"{base}/slow",
          f"{base}/redirect", f"{base}/notes.txt"]  # fmt: skip
    bad = [f"{base}/always-down", f"{base}/missing", f"{base}/private/page",
           f"{base}/redirect-private", f"{base}/big"]  # fmt: skip
    view = run_job(instance, ok + bad)
    assert view["status"] == "completed_with_errors"
    runs = by_source(view)
    for url in ok:
        assert runs[url]["failures"] == [], url
        assert runs[url]["documents_done"] == 1, url

    retried = {url: runs[url]["retried"] for url in ok if runs[url]["retried"]}
    assert retried[f"{base}/rate-limited"] == [
        {"location": f"{base}/rate-limited", "attempts": 2, "reasons": ["HTTP 429"],
         "outcome": "fetched", "class": "transient"}
    ]  # fmt: skip
    assert retried[f"{base}/flaky"][0]["reasons"] == ["HTTP 500", "HTTP 500"]
    assert retried[f"{base}/slow"][0]["reasons"] == ["timeout"]
    assert set(retried) == {f"{base}/rate-limited", f"{base}/flaky", f"{base}/slow"}

    failures = {url: runs[url]["failures"] for url in bad}
    down = failures[f"{base}/always-down"][0]
    assert (down["class"], down["error"], down["attempts"]) == ("transient", "HTTP503", 3)
    assert site.hits["/always-down"] == 3  # tried CATALYST_FETCH_ATTEMPTS times, no more
    permanent = [
        (f"{base}/missing", "HTTP404"),
        (f"{base}/private/page", "RobotsDisallowed"),
        (f"{base}/redirect-private", "OutboundRefused"),
        (f"{base}/big", "Oversize"),
    ]
    for url, error in permanent:
        (failure,) = failures[url]
        assert (failure["class"], failure["error"], failure["attempts"]) == ("permanent", error, 1)
    assert site.hits["/missing"] == 1 and site.hits["/big"] == 1  # never tried again
    assert site.hits["/private/page"] == 0  # robots.txt said no: never fetched
    assert site.hits["/robots.txt"] >= 1 and site.user_agents == {"CatalystTest/1.0"}

    # the runs' fetch figures become the Pushgateway counters, by kind, reason and class
    totals = IngestTotals()
    for run in instance.get_runs():
        totals.add(read_run(instance, run, status="success", finished_at=time.time()))
    totals.settle(now=time.time(), settle_s=0)
    counters = {name: {tuple(json.loads(k)): v for k, v in series.items()}
                for name, series in totals.counters.items()}  # fmt: skip
    assert counters["catalyst_ingest_fetch_retries"] == {
        ("default", "http", "HTTP 429"): 1, ("default", "http", "HTTP 500"): 2,
        ("default", "http", "timeout"): 1, ("default", "http", "HTTP 503"): 2,
    }  # fmt: skip
    assert counters["catalyst_ingest_fetch_failures"] == {
        ("default", "http", "transient"): 1,
        ("default", "http", "permanent"): 4,
    }
    assert counters["catalyst_ingest_fetched_bytes"][("default", "http")] > 0


def test_a_page_that_is_gone_loses_its_chunks_at_the_next_sync(web):
    site, instance = web
    url = f"{site.base}/insulin-dosing"
    first = run_job(instance, [url])
    assert first["status"] == "succeeded"
    site.gone.add("/insulin-dosing")
    state = StateStore(load_settings().state_db)
    assert state.source_documents(load_settings().collection, "default", url) == {url}
    second = run_job(instance, [url])
    (failure,) = by_source(second)[url]["failures"]  # recorded once, and its chunks dropped
    assert (failure["class"], failure["error"], failure["attempts"]) == ("permanent", "HTTP410", 1)
    assert state.source_documents(load_settings().collection, "default", url) == set()


@pytest.fixture
def firecrawl(web, monkeypatch):
    site, instance = web
    pages = [f"{site.base}/docs/pumps", f"{site.base}/docs/sensors", f"{site.base}/docs/retired",
             "http://10.20.30.40/internal/wiki"]  # fmt: skip
    with FakeFirecrawl(site_pages=pages) as fake:
        monkeypatch.setenv("CATALYST_FIRECRAWL_URL", fake.base)
        monkeypatch.setenv("CATALYST_FIRECRAWL_API_KEY", KEY)
        get_settings.cache_clear()
        yield fake, site, instance


def test_firecrawl_scrapes_and_crawls_through_the_sdk_with_classified_retries(firecrawl):
    fake, site, instance = firecrawl
    page = f"{site.base}/guide"
    sources = [f"firecrawl+{page}/rate", f"firecrawl+{page}/malformed", f"firecrawl+{page}/down",
               f"firecrawl+{page}/missing", f"crawl+{site.base}/docs"]  # fmt: skip
    view = run_job(instance, sources)
    runs = by_source(view)
    assert runs[sources[0]]["retried"][0]["reasons"] == ["HTTP 429"]
    assert runs[sources[1]]["retried"][0]["reasons"] == ["malformed"]
    for source in sources[:2]:
        assert runs[source]["failures"] == [] and runs[source]["documents_done"] == 1
    (down,) = runs[sources[2]]["failures"]
    assert (down["class"], down["error"], down["attempts"]) == ("transient", "HTTP502", 3)
    assert fake.calls[f"{page}/down"] == 3
    (missing,) = runs[sources[3]]["failures"]  # recorded; nothing indexed from it
    assert (missing["class"], missing["error"], missing["attempts"]) == ("permanent", "HTTP404", 1)
    crawl = runs[sources[4]]
    assert crawl["documents_done"] == 4
    errors = {f["location"]: f["error"] for f in crawl["failures"]}
    # a page Firecrawl reached at a private address is not indexed for the tenant
    assert errors == {f"{site.base}/docs/retired": "HTTP404",
                      "http://10.20.30.40/internal/wiki": "OutboundRefused"}  # fmt: skip
    state = StateStore(load_settings().state_db)
    indexed = state.source_documents(load_settings().collection, "default", sources[4])
    assert indexed == {f"{site.base}/docs/pumps", f"{site.base}/docs/sensors"}
    assert fake.polls >= 2  # the crawl job was polled until it completed


def test_a_firecrawl_page_whose_name_cannot_be_resolved_now_is_transient(monkeypatch):
    """Firecrawl reports a page's URL; we check its address ourselves. A name no DNS server
    answers for now is tried again with the next ingest, where a private address is refused
    for good."""
    import socket

    from catalyst_orchestration.lib.sources.firecrawl import _refusal
    from catalyst_search.outbound import OutboundPolicy
    from tests.helpers.dns import resolver

    resolver(monkeypatch, {"docs.example.com": socket.EAI_AGAIN})
    error, message, failure_class = _refusal("https://docs.example.com/a", OutboundPolicy()) or (
        "",
        "",
        "",
    )
    assert (error, failure_class) == ("ResolutionUnavailable", "transient"), message
    assert _refusal("http://10.1.2.3/a", OutboundPolicy()) == (
        "OutboundRefused",
        "the page's address is not public (CATALYST_OUTBOUND_ALLOW)",
        "permanent",
    )
