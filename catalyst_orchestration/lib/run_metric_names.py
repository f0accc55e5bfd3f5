"""The ingestion counters pushed to the Pushgateway: names, help, labels, and the series every
tenant gets at 0 from its first run on (see run_metrics.py)."""

from __future__ import annotations

JOB = "catalyst_ingest"

#: name (without ``_total``) -> (help, label names). Every tenant gets each series of the
#: ``ZERO_SERIES`` below at 0 from its first run on, so a panel has data before the first event.
COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "catalyst_ingest_runs": ("Finished ingest runs by final status", ("tenant_id", "status")),
    "catalyst_ingest_run_retries": (
        "Ingest runs that were Dagster run retries of an earlier failed run",
        ("tenant_id",),
    ),
    "catalyst_ingest_step_retries": (
        "Step attempts retried after a transient failure, by step",
        ("tenant_id", "step"),
    ),
    "catalyst_ingest_documents": (
        "Documents seen by the index step, by outcome",
        ("tenant_id", "outcome"),
    ),
    "catalyst_ingest_chunks": ("Chunks written and deleted", ("tenant_id", "action")),
    "catalyst_ingest_document_failures": (
        "Documents that failed, by failure class and error",
        ("tenant_id", "failure_class", "error"),
    ),
    "catalyst_ingest_fetches": (
        "Remote fetches (S3 downloads, page and Firecrawl requests), tries included",
        ("tenant_id", "kind"),
    ),
    "catalyst_ingest_fetched_bytes": ("Bytes fetched from remote sources", ("tenant_id", "kind")),
    "catalyst_ingest_fetch_retries": (
        "Fetches tried again after a transient failure, by reason",
        ("tenant_id", "kind", "reason"),
    ),
    "catalyst_ingest_fetch_failures": (
        "Documents whose fetch failed, by failure class",
        ("tenant_id", "kind", "failure_class"),
    ),
}
ZERO_SERIES: dict[str, list[tuple[str, ...]]] = {
    "catalyst_ingest_runs": [("success",), ("failure",), ("canceled",), ("retried",)],
    "catalyst_ingest_run_retries": [()],
    "catalyst_ingest_step_retries": [
        ("raw_documents",),
        ("parsed_documents",),
        ("chunks",),
        ("index",),
    ],
    "catalyst_ingest_documents": [
        ("seen",),
        ("new",),
        ("changed",),
        ("unchanged",),
        ("deleted",),
        ("failed",),
    ],
    "catalyst_ingest_chunks": [("written",), ("deleted",)],
    "catalyst_ingest_document_failures": [],
    "catalyst_ingest_fetches": [],
    "catalyst_ingest_fetched_bytes": [],
    "catalyst_ingest_fetch_retries": [],
    "catalyst_ingest_fetch_failures": [],
}
DURATION = "catalyst_ingest_run_duration_seconds"
DURATION_BUCKETS = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
LAST_SUCCESS = "catalyst_ingest_last_success_timestamp_seconds"
LAST_PUBLISH = "catalyst_ingest_index_published_timestamp_seconds"
METRIC_NAMES = (*COUNTERS, DURATION, LAST_SUCCESS, LAST_PUBLISH)
