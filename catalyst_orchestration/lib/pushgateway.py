"""Ingestion runs push their counters to a Prometheus Pushgateway (CATALYST_PUSHGATEWAY_URL)."""

from __future__ import annotations

from collections import Counter

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

from catalyst_orchestration.lib.indexing import IndexOutcome

JOB = "catalyst_ingest"


def push_outcome(
    url: str,
    outcome: IndexOutcome,
    *,
    partition: str,
    tenant_id: str,
    step_retries: int,
    run_retries: int,
    duration_s: float,
    timeout_s: float = 5.0,
) -> None:
    """Replace this partition's group on the gateway with the run's figures."""
    registry = CollectorRegistry()
    documents = Gauge(
        "catalyst_ingest_documents",
        "Documents of the last run by outcome",
        ["outcome"],
        registry=registry,
    )
    for name in ("seen", "new", "changed", "unchanged", "failed"):
        documents.labels(outcome=name).set(getattr(outcome, name))
    chunks = Gauge(
        "catalyst_ingest_chunks", "Chunks of the last run", ["action"], registry=registry
    )
    chunks.labels(action="written").set(outcome.chunks_written)
    chunks.labels(action="deleted").set(outcome.chunks_deleted)
    failures = Gauge(
        "catalyst_ingest_failures",
        "Failed documents of the last run by class and error",
        ["failure_class", "error"],
        registry=registry,
    )
    for (failure_class, error), count in Counter(
        (f.failure_class, f.error) for f in outcome.failures
    ).items():
        failures.labels(failure_class=failure_class, error=error).set(count)
    retries = Gauge(
        "catalyst_ingest_retries", "Retries the last run needed", ["level"], registry=registry
    )
    retries.labels(level="step").set(step_retries)
    retries.labels(level="run").set(run_retries)
    Gauge(
        "catalyst_ingest_duration_seconds", "Duration of the last index step", registry=registry
    ).set(duration_s)
    push_to_gateway(
        url,
        job=JOB,
        registry=registry,
        grouping_key={"partition": partition, "tenant_id": tenant_id},
        timeout=timeout_s,
    )
