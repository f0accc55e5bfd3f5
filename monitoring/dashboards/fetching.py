"""The ingestion dashboard's row on remote sources: S3 downloads, pages and Firecrawl requests,
as every finished run pushes them (``catalyst_ingest_fetch*``)."""

from __future__ import annotations

from monitoring.dashboards.common import T, ratio, sum_rate
from monitoring.panels import Panel, Row, q

FETCHING = Row(
    "Remote sources",
    (
        Panel(
            "Fetches, by kind",
            (
                q(
                    sum_rate("catalyst_ingest_fetches_total", by="kind", where=T, window="1h"),
                    "{{kind}}",
                ),
            ),
            bad="a kind dropping to zero while its sources are watched: their syncs are not "
            "running (see Since the last successful run).",
        ),
        Panel(
            "Bytes fetched, by kind",
            (
                q(
                    sum_rate(
                        "catalyst_ingest_fetched_bytes_total", by="kind", where=T, window="1h"
                    ),
                    "{{kind}}",
                ),
            ),
            bad="far above the sources' size: unchanged objects fetched again (an ETag cache "
            "lost, or a crawl without a limit).",
            unit="bytes",
        ),
        Panel(
            "Fetches tried again, by kind and reason",
            (
                q(
                    sum_rate(
                        "catalyst_ingest_fetch_retries_total",
                        by="kind, reason",
                        where=T,
                        window="1h",
                    ),
                    "{{kind}} {{reason}}",
                ),
            ),
            bad="steady 429 or 503: the site or Firecrawl pushes back (lower "
            "CATALYST_CRAWL_LIMIT, raise CATALYST_FETCH_BACKOFF_S); timeouts: "
            "CATALYST_FETCH_TIMEOUT_S (runbook: Remote sources failing).",
        ),
        Panel(
            "Documents whose fetch failed, per fetch, by kind",
            (
                q(
                    ratio(
                        "catalyst_ingest_fetch_failures_total",
                        "catalyst_ingest_fetches_total",
                        by="kind",
                        top=T,
                        bottom=T,
                        window="1h",
                    ),
                    "{{kind}}",
                ),
            ),
            bad="rising for a kind: its documents are not read (permanent: 403 or 404 at the "
            "source; transient: tried again at the next sync).",
            unit="percentunit",
        ),
    ),
)
