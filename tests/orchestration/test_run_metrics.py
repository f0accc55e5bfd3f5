"""Ingestion counters add up across runs, failed runs included, and reach a real Pushgateway."""

from __future__ import annotations

import json

import dagster as dg
import requests
from dagster._core.remote_origin import (
    InProcessCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from catalyst_orchestration.definitions import defs
from catalyst_orchestration.defs.monitoring.sensors import ingest_run_metrics
from catalyst_orchestration.defs.partitions import register_source
from catalyst_orchestration.defs.resources import PushgatewayResource
from catalyst_orchestration.lib.run_metrics import IngestTotals, RunFigures, totals_registry
from catalyst_orchestration.lib.state import StateStore
from catalyst_search.ingest_requests.contract import TENANT_TAG
from catalyst_search.settings import load_settings
from tests.conftest import icd_records
from tests.helpers.services import free_port, private_pushgateway


def samples(exposition: str) -> dict[tuple[str, frozenset], float]:
    """``(sample name, labels) -> value`` of a Prometheus text exposition."""
    found = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            labels = {k: v for k, v in sample.labels.items() if k not in ("job", "instance")}
            found[(sample.name, frozenset(labels.items()))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


def test_totals_add_up_and_survive_the_cursor():
    totals = IngestTotals()
    totals.add(
        RunFigures(
            "r1",
            "acme",
            "success",
            duration_s=12.0,
            finished_at=100.0,
            step_retries={"index": 2},
            documents={"seen": 5, "new": 4, "failed": 1},
            chunks={"written": 9, "deleted": 0},
            failures={("permanent", "MalformedRecord"): 1},
            index_version="v1",
        )
    )
    totals.settle(now=1000.0, settle_s=0)  # 0: counts at once, no zero first
    totals = IngestTotals.from_json(json.loads(json.dumps(totals.to_json())))
    totals.add(RunFigures("r2", "acme", "failure", 0.5, 200.0, run_retry=True))
    totals.add(RunFigures("r3", "acme", "success", 3.0, 300.0, index_version="v1"))
    totals.settle(now=1030.0, settle_s=0)
    found = samples(generate_latest(totals_registry(totals)).decode())

    assert value(found, "catalyst_ingest_runs_total", tenant_id="acme", status="success") == 2
    assert value(found, "catalyst_ingest_runs_total", tenant_id="acme", status="failure") == 1
    assert value(found, "catalyst_ingest_runs_total", tenant_id="acme", status="canceled") == 0
    assert value(found, "catalyst_ingest_run_retries_total", tenant_id="acme") == 1
    assert value(found, "catalyst_ingest_step_retries_total", tenant_id="acme", step="index") == 2
    assert value(found, "catalyst_ingest_step_retries_total", tenant_id="acme", step="chunks") == 0
    assert value(found, "catalyst_ingest_documents_total", tenant_id="acme", outcome="new") == 4
    failures = "catalyst_ingest_document_failures_total"
    labels = {"tenant_id": "acme", "failure_class": "permanent", "error": "MalformedRecord"}
    assert value(found, failures, **labels) == 1
    duration = "catalyst_ingest_run_duration_seconds"
    assert value(found, f"{duration}_bucket", status="success", le="5.0") == 1
    assert value(found, f"{duration}_bucket", status="success", le="30.0") == 2
    assert value(found, f"{duration}_bucket", status="success", le="+Inf") == 2
    assert value(found, f"{duration}_bucket", status="canceled", le="+Inf") == 0
    assert value(found, f"{duration}_sum", status="success") == 15.0
    assert value(found, "catalyst_ingest_last_success_timestamp_seconds", tenant_id="acme") == 300
    # r3 found the same version as r1: nothing new was published after r1
    assert value(found, "catalyst_ingest_index_published_timestamp_seconds") == 100


def test_a_new_series_is_pushed_at_zero_before_its_first_counts():
    """Prometheus sees no increase in a series whose first sample is already 1: a new series
    goes out at 0, and its counts wait until it has been on the gateway for ``settle_s``."""
    totals = IngestTotals()
    runs, labels = "catalyst_ingest_runs_total", {"tenant_id": "new", "status": "success"}

    def pushed() -> dict:
        return samples(generate_latest(totals_registry(totals)).decode())

    totals.add(RunFigures("r1", "new", "success", 1.0, 10.0))
    totals.settle(now=1000.0, settle_s=60)
    assert value(pushed(), runs, **labels) == 0  # this push did not reach the gateway
    totals.settle(now=1100.0, settle_s=60)
    assert value(pushed(), runs, **labels) == 0  # so its clock has not started
    totals.mark_pushed(now=1100.0)
    totals.settle(now=1159.0, settle_s=60)
    assert value(pushed(), runs, **labels) == 0
    totals.add(RunFigures("r2", "new", "success", 1.0, 20.0))
    totals.settle(now=1160.0, settle_s=60)
    assert value(pushed(), runs, **labels) == 2
    assert value(pushed(), "catalyst_ingest_run_duration_seconds_count", status="success") == 2
    totals.add(RunFigures("r3", "new", "success", 1.0, 30.0))
    totals.settle(now=1170.0, settle_s=60)  # an old series counts at once
    assert value(pushed(), runs, **labels) == 3


def _execute(instance: dg.DagsterInstance, uri: str, tenant: str) -> dg.ExecuteInProcessResult:
    source = register_source(
        instance, StateStore(load_settings().state_db), tenant_id=tenant, uri=uri
    )
    return (
        defs()
        .resolve_job_def("ingest")
        .execute_in_process(
            instance=instance,
            partition_key=source.partition_key,
            tags={TENANT_TAG: tenant},
            raise_on_error=False,
        )
    )


def _tick(instance: dg.DagsterInstance, url: str, cursor: str | None) -> str:
    resources = {"pushgateway": PushgatewayResource(url=url, settle_s=0)}
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        result = ingest_run_metrics(context)
        assert isinstance(result, dg.SkipReason) and "pushed" in (result.skip_message or "")
        assert context.cursor
        return context.cursor


def test_every_finished_run_adds_to_the_counters_on_the_gateway(catalyst_home, tmp_path):
    good = tmp_path / "records.jsonl"
    records = [json.dumps(r) for r in icd_records(limit=7)]
    good.write_text("\n".join([*records[:6], '{"id": "broken"']) + "\n")
    with private_pushgateway(free_port()) as url, dg.instance_for_test() as instance:
        assert _execute(instance, str(good), "acme").success
        assert not _execute(instance, str(tmp_path / "gone.jsonl"), "acme").success
        cursor = _tick(instance, url, None)
        first = samples(requests.get(f"{url}/metrics", timeout=5).text)
        cursor = _tick(instance, url, cursor)  # no new runs: the same totals, nothing twice
        again = samples(requests.get(f"{url}/metrics", timeout=5).text)
        good.write_text("\n".join([*records, '{"id": "broken"']) + "\n")  # one record more
        assert _execute(instance, str(good), "acme").success
        _tick(instance, url, cursor)
        later = samples(requests.get(f"{url}/metrics", timeout=5).text)

    runs = "catalyst_ingest_runs_total"
    assert value(first, runs, tenant_id="acme", status="success") == 1
    assert value(first, runs, tenant_id="acme", status="failure") == 1
    documents = "catalyst_ingest_documents_total"
    assert value(first, documents, tenant_id="acme", outcome="new") == 6
    assert value(first, documents, tenant_id="acme", outcome="failed") == 1
    failures = "catalyst_ingest_document_failures_total"
    malformed = {"tenant_id": "acme", "failure_class": "permanent", "error": "MalformedRecord"}
    assert value(first, failures, **malformed) == 1
    assert value(first, "catalyst_ingest_run_duration_seconds_count", status="failure") == 1
    ours = [k for k in first if k[0].startswith("catalyst_ingest_")]
    assert ours and {k: again[k] for k in ours} == {k: first[k] for k in ours}
    assert value(later, runs, tenant_id="acme", status="success") == 2
    assert value(later, documents, tenant_id="acme", outcome="unchanged") == 6
    assert value(later, documents, tenant_id="acme", outcome="new") == 7  # summed, not replaced
    assert value(later, failures, **malformed) == 2
    written = value(first, "catalyst_ingest_chunks_total", tenant_id="acme", action="written")
    assert (
        value(later, "catalyst_ingest_chunks_total", tenant_id="acme", action="written") > written
    )


def test_without_a_gateway_the_sensor_says_so_and_keeps_its_cursor(catalyst_home):
    with dg.instance_for_test() as instance:
        resources = {"pushgateway": PushgatewayResource()}
        with dg.build_sensor_context(instance=instance, resources=resources) as context:
            result = ingest_run_metrics(context)
            assert "CATALYST_PUSHGATEWAY_URL" in (result.skip_message or "")
            assert not context.cursor


def test_the_metrics_sensor_is_part_of_the_code_location_and_on_by_default():
    sensor = defs().resolve_sensor_def("ingest_run_metrics")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds == 30


@dg.op
def _noop() -> None:
    """A step of a job that is not ingestion."""


@dg.job
def other_job() -> None:
    _noop()


def _origin(job_name: str) -> RemoteJobOrigin:
    location = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(module_name="catalyst_orchestration.definitions"),
        location_name="catalyst_orchestration",
    )
    return RemoteRepositoryOrigin(location, "__repository__").get_job_origin(job_name)


def _finished_run(
    instance: dg.DagsterInstance,
    job: dg.JobDefinition,
    how: str,
    *,
    launched: bool = False,
    **tags: str,
) -> dg.DagsterRun:
    """A run record that ended as ``how`` (failed or canceled) without executing anything,
    launched (``launched``) from a code location, as the daemon's runs are, or in process."""
    origin = _origin(job.name) if launched else None
    run = instance.create_run_for_job(
        job_def=job, tags={TENANT_TAG: "acme", **tags}, remote_job_origin=origin
    )
    if how == "canceled":
        instance.report_run_canceled(run)
    else:
        instance.report_run_failed(run)
    return run


def test_cancelled_and_retried_runs_count_other_jobs_do_not_and_ticks_page(
    catalyst_home, monkeypatch
):
    from catalyst_orchestration.defs.monitoring import sensors

    monkeypatch.setattr(sensors, "MAX_RUNS_PER_TICK", 2)
    ingest_job = defs().resolve_job_def("ingest")
    with private_pushgateway(free_port()) as url, dg.instance_for_test() as instance:
        for _ in range(3):
            _finished_run(instance, ingest_job, "failed")
        _finished_run(instance, ingest_job, "failed", **{"dagster/retry_number": "1"})
        will_retry = {"dagster/will_retry": "true"}
        _finished_run(instance, ingest_job, "failed", launched=True, **will_retry)
        _finished_run(instance, ingest_job, "failed", **will_retry)  # in process: no retry comes
        _finished_run(instance, ingest_job, "canceled")
        _finished_run(instance, other_job, "failed")
        cursor = _tick(instance, url, None)  # at most 2 runs of each status a tick
        first = samples(requests.get(f"{url}/metrics", timeout=5).text)
        for _ in range(3):
            cursor = _tick(instance, url, cursor)
        found = samples(requests.get(f"{url}/metrics", timeout=5).text)

    runs = "catalyst_ingest_runs_total"
    assert value(first, runs, tenant_id="acme", status="failure") == 2
    assert value(found, runs, tenant_id="acme", status="failure") == 5  # not other_job's
    assert value(found, runs, tenant_id="acme", status="canceled") == 1
    assert value(found, runs, tenant_id="acme", status="retried") == 1  # not a failure: retried
    assert value(found, runs, tenant_id="acme", status="success") == 0
    assert value(found, "catalyst_ingest_run_retries_total", tenant_id="acme") == 1
    # runs that never indexed count no documents (their retry's index step reports them all)
    assert value(found, "catalyst_ingest_documents_total", tenant_id="acme", outcome="failed") == 0
