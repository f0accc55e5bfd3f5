"""Whether queued ingest jobs would start now: the dispatch sensor's heartbeat."""

from __future__ import annotations

import time

from catalyst_search.ingest_requests.contract import SENSOR_NAME
from catalyst_search.ingest_requests.dispatch import QUEUE_ERRORS
from catalyst_search.ingest_requests.jobs import JobStore


def heartbeat_age_s(jobs: JobStore) -> float:
    """Seconds since the dispatch sensor last ticked; infinite when it never has.

    Raises one of ``QUEUE_ERRORS`` when the store behind the heartbeat is unreachable.
    """
    beat = jobs.last_beat(SENSOR_NAME)
    return float("inf") if beat is None else max(0.0, time.time() - beat)


def dispatch_degraded(jobs: JobStore, *, stale_s: float) -> str | None:
    """Why queued jobs would not start now, or None when the dispatch sensor is ticking."""
    try:
        age = heartbeat_age_s(jobs)
    except QUEUE_ERRORS as exc:
        return f"the ingest queue is unreachable ({exc}); requests wait in the local outbox"
    if age == float("inf"):
        return "the Dagster daemon has never run the ingest_requests sensor (start it: make dev)"
    if age > stale_s:
        return f"the ingest_requests sensor last ran {age:.0f}s ago: is the Dagster daemon up?"
    return None
