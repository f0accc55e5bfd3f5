"""The whole monitoring path, for real: an ingest with a failing document and a retried step,
two pages of another tenant (one answered 429 first, one missing), searches through the SDK, a
real Pushgateway and a real Prometheus scraping both with our alert rules loaded; then every
dashboard panel's query is evaluated through Prometheus's HTTP API."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import requests
import yaml

from catalyst_orchestration.defs.monitoring.sensors import ingest_run_metrics
from catalyst_orchestration.defs.resources import PushgatewayResource, ingest_resources
from catalyst_search.client import CatalystClient, CatalystError, IngestJob
from catalyst_search.settings import load_settings
from monitoring.generate import OUT
from monitoring.panels import panel_queries
from monitoring.stack import RULES, prometheus_config
from tests.conftest import icd_records
from tests.helpers.environment import catalyst_environment
from tests.helpers.fake_web import FakeSite
from tests.helpers.live_app import live_app
from tests.helpers.services import free_port, private_prometheus, private_pushgateway
from tests.helpers.tokens import SECRET, claims, hs256
from tests.orchestration.helpers import dispatch_and_run

RECORDS = 8


@dataclass
class Scenario:
    prometheus: str
    job: IngestJob
    step_retries: int  # STEP_UP_FOR_RETRY events of the run, as Dagster recorded them
    searches: int


def _token(*roles: str) -> str:
    return hs256(claims(tenant="acme", roles=roles, aud=None, iss=None))


def query(prometheus: str, expr: str) -> list[dict]:
    answer = requests.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=10)
    assert answer.status_code == 200, (expr, answer.text)
    result: list[dict] = answer.json()["data"]["result"]
    return result


def scalar(prometheus: str, expr: str) -> float | None:
    result = query(prometheus, expr)
    return float(result[0]["value"][1]) if result else None


def wait_for(prometheus: str, expr: str, expected: float, *, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while (seen := scalar(prometheus, expr)) != expected:
        assert time.monotonic() < deadline, f"{expr} = {seen}, waited for {expected}"
        time.sleep(0.5)


def _ingest(client: CatalystClient, source: Path, instance: dg.DagsterInstance) -> tuple[str, int]:
    """Queue through the SDK, dispatch with the sensor, run as the daemon would with the index
    lock held until the index step has retried; returns the job id and the run's step retries."""
    accepted = client.submit_ingest([str(source)])
    request, result = dispatch_and_run(instance)
    assert result.success and accepted.job_id == request.tags["catalyst/job_id"]
    events = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY)
    return accepted.job_id, len(events)


def _ingest_pages(site: FakeSite, instance: dg.DagsterInstance) -> None:
    """Runs of the ``ingest`` job for two pages of the tenant ``web``: the first answers 429
    once (a fetch tried again), the second 404 (a permanent fetch failure)."""
    from catalyst_orchestration.definitions import defs
    from catalyst_orchestration.defs.partitions import register_source
    from catalyst_orchestration.lib.state_stores import open_state

    state = open_state(load_settings())
    for page in ("/rate-limited", "/missing"):
        source = register_source(instance, state, tenant_id="web", uri=site.base + page)
        result = (
            defs()
            .resolve_job_def("ingest")
            .execute_in_process(instance=instance, partition_key=source.partition_key)
        )
        assert result.success, page


def _push_run_metrics(instance: dg.DagsterInstance, gateway: str, prometheus: str) -> None:
    """Two ticks of the metrics sensor, as the daemon would: the first pushes the new series at
    0, Prometheus scrapes them, and the second (past ``settle_s``) pushes the run's counts."""
    resources = {**ingest_resources(), "pushgateway": PushgatewayResource(url=gateway, settle_s=2)}
    cursor = None
    for _ in range(2):
        with dg.build_sensor_context(
            instance=instance, cursor=cursor, resources=resources
        ) as context:
            ingest_run_metrics(context)
            cursor = context.cursor
        wait_for(prometheus, 'count(catalyst_ingest_runs_total{tenant_id="acme"})', 4.0)
        time.sleep(2)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Iterator[Scenario]:
    tmp = tmp_path_factory.mktemp("monitoring")
    with catalyst_environment(
        tmp,
        DAGSTER_HOME=str(tmp),
        CATALYST_AUTH="jwt",
        CATALYST_JWT_SECRET=SECRET,
        CATALYST_RATE_INGEST="1/minute",
        CATALYST_OUTBOUND_ALLOW="127.0.0.1",  # the pages of FakeSite
        CATALYST_FETCH_BACKOFF_S="0.05",
    ) as env:
        source = tmp / "records.jsonl"
        lines = [json.dumps(r) for r in icd_records(limit=RECORDS)] + ['{"id": "broken"']
        source.write_text("\n".join(lines) + "\n")
        with (
            private_pushgateway(free_port()) as gateway,
            live_app(load_settings()) as service,
            FakeSite() as site,
        ):
            env.setenv("CATALYST_PUSHGATEWAY_URL", gateway)
            config = prometheus_config(
                services=[service.removeprefix("http://")],
                pushgateway=gateway.removeprefix("http://"),
                scrape_interval="1s",
            )
            with (
                private_prometheus(config, tmp / "prometheus") as prometheus,
                dg.instance_for_test() as instance,
                CatalystClient(service, token=_token("search", "ingest", "debug")) as client,
            ):
                wait_for(prometheus, 'up{job="catalyst_search"}', 1.0)
                job_id, step_retries = _ingest(client, source, instance)
                _ingest_pages(site, instance)
                _push_run_metrics(instance, gateway, prometheus)
                searches = _traffic(client, service)
                wait_for(prometheus, "sum(catalyst_search_results_count)", float(searches))
                wait_for(prometheus, "sum(catalyst_rate_limited_total)", 1.0)  # the last
                time.sleep(3)  # three more scrapes: every rate() window holds two samples
                wait_for(prometheus, "sum(catalyst_ingest_runs_total)", 3.0)
                job = client.wait_for_job(job_id, timeout_s=30)
                yield Scenario(prometheus, job, step_retries, searches)


def _traffic(client: CatalystClient, service: str) -> int:
    """Searches spread over a few seconds (so rates have increases between scrapes), a premium
    search that degrades, one with no results, and refused requests of each kind."""
    searches = 0
    for n in range(12):
        client.search("type 2 diabetes with kidney complications", top_k=5)
        client.search("thyroid", mode="premium", top_k=3)
        searches += 2
        if n % 4 == 0:
            client.search("goitre", filters={"document_id": ["no-such-document"]})
            searches += 1
        time.sleep(0.3)
    bad = requests.post(
        f"{service}/search", json={"query": "x"}, headers={"Authorization": "Bearer nope"}
    )
    assert bad.status_code == 401
    with (
        CatalystClient(service, token=_token("search")) as reader,
        pytest.raises(CatalystError) as forbidden,
    ):
        reader.submit_ingest(["/nowhere"])
    assert forbidden.value.status == 403
    with pytest.raises(CatalystError) as refused:
        client.submit_ingest(["/nowhere"])  # the tenant's ingest budget (1/minute) is spent
    assert refused.value.status == 429
    return searches


def test_the_sdk_reports_the_retried_step_and_the_failed_document(scenario):
    job = scenario.job
    assert scenario.step_retries >= 1
    assert job.status == "completed_with_errors"
    assert (job.documents_done, job.documents_total, job.percent) == (RECORDS + 1, RECORDS + 1, 100)
    (source,) = job.sources
    assert source.step_retries == job.step_retries == scenario.step_retries
    assert (source.attempts, source.run_retries, job.run_retries) == (1, 0, 0)
    (failure,) = job.failures
    assert (failure.error, failure.stage, failure.failure_class) == (
        "MalformedRecord",
        "parse",
        "permanent",
    )
    assert (failure.attempts, failure.retries) == (1, 0)


def test_counters_in_prometheus_equal_what_the_run_did(scenario):
    p = scenario.prometheus
    assert (
        scalar(p, 'sum(catalyst_ingest_step_retries_total{step="index"})') == scenario.step_retries
    )
    assert scalar(p, "sum(catalyst_ingest_step_retries_total)") == scenario.step_retries
    assert scalar(p, "sum(catalyst_ingest_run_retries_total)") == 0
    malformed = 'failure_class="permanent", error="MalformedRecord", tenant_id="acme"'
    assert scalar(p, f"sum(catalyst_ingest_document_failures_total{{{malformed}}})") == 1
    acme = 'tenant_id="acme"'
    assert scalar(p, f"sum(catalyst_ingest_document_failures_total{{{acme}}})") == 1
    assert scalar(p, f'sum(catalyst_ingest_documents_total{{{acme}, outcome="new"}})') == RECORDS
    assert scalar(p, f'sum(catalyst_ingest_documents_total{{{acme}, outcome="failed"}})') == 1
    assert scalar(p, f'sum(catalyst_ingest_runs_total{{{acme}, status="success"}})') == 1
    assert scalar(p, "sum(catalyst_ingest_runs_total)") == 3
    assert scalar(p, "sum(catalyst_search_results_count)") == scenario.searches
    assert scalar(p, 'sum(catalyst_rate_limited_total{action="ingest"})') == 1
    assert scalar(p, "sum(catalyst_auth_failures_total)") == 1


def test_fetch_counters_in_prometheus_equal_what_the_page_runs_did(scenario):
    p, web = scenario.prometheus, 'tenant_id="web", kind="http"'
    assert scalar(p, f"sum(catalyst_ingest_fetches_total{{{web}}})") == 3  # 429, then 200; 404
    assert scalar(p, f"sum(catalyst_ingest_fetch_retries_total{{{web}}})") == 1
    permanent = f'{web}, failure_class="permanent"'
    assert scalar(p, f"sum(catalyst_ingest_fetch_failures_total{{{permanent}}})") == 1
    assert scalar(p, f"sum(catalyst_ingest_fetched_bytes_total{{{web}}})") > 0


def test_alert_rules_evaluate_and_see_the_failed_document(scenario):
    """All rules are loaded and healthy on real series; one failed document in nine is over
    the 5% failure-rate threshold, so that alert (which has no ``for``) fires, for each tenant
    (the web tenant's missing page is one failed document in two)."""
    p = scenario.prometheus
    failing = 'alertname="CatalystIngestDocumentFailureRate", failure_class="permanent"'
    wait_for(p, f'count(ALERTS{{{failing}, tenant_id="acme"}})', 1.0)
    wait_for(p, f'count(ALERTS{{{failing}, tenant_id="web"}})', 1.0)  # the missing page
    groups = requests.get(f"{p}/api/v1/rules", timeout=10).json()["data"]["groups"]
    health = {rule["name"]: rule["health"] for group in groups for rule in group["rules"]}
    written = [rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"]
               for rule in group["rules"]]  # fmt: skip
    assert sorted(health) == sorted(written) and set(health.values()) == {"ok"}, health


SELECTOR = re.compile(r"\b([A-Za-z_:][\w:]*)\s*\{([^}]*)\}")
MATCHER = re.compile(r'(\w+)\s*(?:=~|!~|!=|=)\s*"')
NAMES = re.compile(r"\b(catalyst_\w+|push_time_seconds)\b")


def referenced(promql: str) -> dict[str, set[str]]:
    """The metric names a query reads, each with the label names its matchers test."""
    unquoted = re.sub(r'"[^"]*"', '""', promql)  # label values are not metric names
    found: dict[str, set[str]] = {name: set() for name in NAMES.findall(unquoted)}
    for name, matchers in SELECTOR.findall(promql):
        found.setdefault(name, set()).update(MATCHER.findall(matchers))
    return found


def assert_exported(prometheus: str, promql: str) -> None:
    """Every metric ``promql`` names has series, with every label its matchers test: a query
    with a wrong name could still return data (``or vector(0)``), but not pass this."""
    for name, labels in referenced(promql).items():
        assert query(prometheus, f'count({{__name__="{name}"}})'), f"no series {name}"
        for label in labels:
            assert query(prometheus, f'count({name}{{{label}!=""}})'), f"{name} has no {label}"


PANELS = [
    pytest.param(expr, id=f"{path.stem}: {title}")
    for path in sorted(OUT.glob("*.json"))
    for title, expr in panel_queries(json.loads(path.read_text()))
]


@pytest.mark.parametrize("expr", PANELS)
def test_every_dashboard_panel_returns_data(scenario, expr):
    promql = expr.replace("$__rate_interval", "1m").replace("$tenant", ".*")
    assert_exported(scenario.prometheus, promql)
    assert query(scenario.prometheus, promql), f"no data for {promql}"


def test_every_alert_reads_metrics_that_are_exported(scenario):
    groups = yaml.safe_load(RULES.read_text())["groups"]
    for rule in (rule for group in groups for rule in group["rules"]):
        assert_exported(scenario.prometheus, rule["expr"])
