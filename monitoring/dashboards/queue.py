"""Queue and dispatch: ingest requests between POST /ingest/bulk and their Dagster runs."""

from __future__ import annotations

from monitoring.dashboards.common import sum_rate
from monitoring.panels import Dashboard, Panel, Row, q

QUEUE = Dashboard(
    uid="catalyst-queue",
    title="CatalystIndex / Queue and dispatch",
    description="Ingest requests between POST /ingest/bulk and their Dagster runs.",
    rows=(
        Row(
            "Queue",
            (
                Panel(
                    "Queued requests",
                    (
                        q("max(catalyst_ingest_queue_depth)", "queue"),
                        q("sum(catalyst_ingest_outbox_depth)", "outbox"),
                    ),
                    bad="the queue growing while runs finish: the sensor is behind; any outbox "
                    "depth: the queue was unreachable and requests wait on one host.",
                ),
                Panel(
                    "Oldest queued request",
                    (q("max(catalyst_ingest_queue_oldest_age_seconds)", "age"),),
                    bad="over 10 minutes (alert CatalystIngestQueueStale).",
                    unit="s",
                ),
                Panel(
                    "Dispatch outages",
                    (
                        q(
                            sum_rate("catalyst_ingest_dispatch_outages_total", window="1h"),
                            "requests kept in the outbox",
                        ),
                    ),
                    bad="any: Redis was unreachable from the search service.",
                ),
                Panel(
                    "Since the ingest_requests sensor ticked",
                    (q("min(catalyst_ingest_dispatch_heartbeat_age_seconds)", "heartbeat age"),),
                    bad="over 2 minutes: the Dagster daemon is down "
                    "(alert CatalystDaemonHeartbeatStale).",
                    unit="s",
                    kind="stat",
                ),
            ),
        ),
    ),
)
