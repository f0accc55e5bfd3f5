"""Ingestion pipeline: every finished run, as the ingest_run_metrics sensor pushes it."""

from __future__ import annotations

from monitoring.dashboards.common import T, quantiles, ratio, sum_rate
from monitoring.dashboards.fetching import FETCHING
from monitoring.panels import Dashboard, Panel, Row, q

INGESTION = Dashboard(
    uid="catalyst-ingestion",
    title="CatalystIndex / Ingestion pipeline",
    description="Every finished ingest run, as the ingest_run_metrics sensor pushes it.",
    tenant_variable="catalyst_ingest_runs_total",
    rows=(
        Row(
            "Runs",
            (
                Panel(
                    "Runs finished, by status",
                    (
                        q(
                            sum_rate(
                                "catalyst_ingest_runs_total", by="status", where=T, window="1h"
                            ),
                            "{{status}}",
                        ),
                    ),
                    bad="any failure or canceled run: a failed run is one Dagster could not save "
                    "by retrying; open it in the Dagster UI (Runs, status Failure).",
                ),
                Panel(
                    "Run duration",
                    quantiles("catalyst_ingest_run_duration_seconds", 'status="success"'),
                    bad="p95 growing run over run for the same sources: the index or the encoder "
                    "is slowing down (see the index step's embed_s/write_s/publish_s metadata).",
                    unit="s",
                ),
                Panel(
                    "Retries",
                    (
                        q(
                            sum_rate(
                                "catalyst_ingest_step_retries_total",
                                by="step",
                                where=T,
                                window="1h",
                            ),
                            "step {{step}}",
                        ),
                        q(
                            sum_rate("catalyst_ingest_run_retries_total", where=T, window="1h"),
                            "run retries",
                        ),
                    ),
                    bad="steady step retries of the index step: another writer holds the index "
                    "lock or Qdrant is timing out; run retries: run workers are dying (OOM?).",
                ),
                Panel(
                    "Since the last successful run",
                    (
                        q(
                            f"time() - catalyst_ingest_last_success_timestamp_seconds{{{T}}}",
                            "{{tenant_id}}",
                        ),
                    ),
                    bad="longer than the tenant's schedule: ingestion is not running for it.",
                    unit="s",
                    kind="stat",
                ),
            ),
        ),
        Row(
            "Documents",
            (
                Panel(
                    "Documents, by outcome",
                    (
                        q(
                            sum_rate(
                                "catalyst_ingest_documents_total",
                                by="outcome",
                                where=T,
                                window="1h",
                            ),
                            "{{outcome}}",
                        ),
                    ),
                    bad="failed rising with seen flat; or everything 'changed' on a re-run "
                    "(the chunking or embedding configuration changed: a full re-embed).",
                ),
                Panel(
                    "Document failures, by class and error",
                    (
                        q(
                            sum_rate(
                                "catalyst_ingest_document_failures_total",
                                by="failure_class, error",
                                where=T,
                                window="1h",
                            ),
                            "{{failure_class}} {{error}}",
                        ),
                    ),
                    bad="transient failures that do not go away, or a new permanent error class "
                    "(a parser regression or a source full of unsupported files).",
                ),
                Panel(
                    "Failed share of documents seen",
                    (
                        q(
                            ratio(
                                "catalyst_ingest_document_failures_total",
                                "catalyst_ingest_documents_total",
                                top=T,
                                bottom=f'{T}, outcome="seen"',
                                window="1h",
                            ),
                            "failed / seen",
                        ),
                    ),
                    bad="above 5% (alert CatalystIngestDocumentFailureRate).",
                    unit="percentunit",
                ),
                Panel(
                    "Chunks written and deleted",
                    (
                        q(
                            sum_rate(
                                "catalyst_ingest_chunks_total", by="action", where=T, window="1h"
                            ),
                            "{{action}}",
                        ),
                    ),
                    bad="deleted far above written: documents shrinking or vanishing at the "
                    "source.",
                ),
            ),
        ),
        FETCHING,
        Row(
            "Freshness",
            (
                Panel(
                    "Since the ingest metrics were last pushed",
                    (
                        q(
                            'time() - push_time_seconds{job="catalyst_ingest"}',
                            "ingest_run_metrics sensor",
                        ),
                    ),
                    bad="over a few minutes: the Dagster daemon (or its metrics sensor) is not "
                    "running, or cannot reach the Pushgateway.",
                    unit="s",
                    kind="stat",
                ),
                Panel(
                    "Index version published vs. loaded",
                    (
                        q(
                            "max(catalyst_ingest_index_published_timestamp_seconds) * 1000",
                            "published by ingest",
                        ),
                        q(
                            "catalyst_search_index_loaded_timestamp_seconds * 1000",
                            "loaded by {{instance}}",
                        ),
                    ),
                    bad="a replica's loaded time staying below the published time for minutes "
                    "(alert CatalystIndexNotRefreshed).",
                    unit="dateTimeAsIso",
                ),
            ),
        ),
    ),
)
