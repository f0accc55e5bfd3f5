"""Submitting ingest work: validate sources, record the job, queue it. API and CLI share this."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from catalyst_search.settings import Settings, SettingsError
from catalyst_search.stores.jobs import Job, JobStore, SourceRun, SqliteJobStore
from catalyst_search.stores.outbox import QUEUE_ERRORS, Dispatcher
from catalyst_search.stores.queue import IngestMessage, IngestQueue, SqliteQueue

RECORD_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
SENSOR_NAME = "ingest_requests"


class InvalidSource(ValueError):
    """A source that cannot be ingested; the message says which and why."""


def check_source(raw: str, *, where: str = "source") -> str:
    path = Path(raw).expanduser()
    if not path.is_absolute():
        raise InvalidSource(f"{where}: give an absolute path, got {raw!r}")
    if not path.exists():
        raise InvalidSource(f"{where}: {raw} does not exist on the ingest host")
    if path.is_file() and not path.name.lower().endswith(RECORD_SUFFIXES):
        raise InvalidSource(
            f"{where}: a file source must hold JSONL records ({', '.join(RECORD_SUFFIXES)})"
        )
    return str(path.resolve())


def _redis_client(url: str) -> redis.Redis:
    """The Redis behind ``CATALYST_QUEUE``, with short timeouts so an outage fails fast."""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(
            f"CATALYST_QUEUE={url!r}: expected a redis:// URL, or unset it for the SQLite queue"
        )
    return redis.Redis.from_url(
        url, socket_timeout=2.0, socket_connect_timeout=2.0, decode_responses=True
    )


def open_queue(settings: Settings) -> IngestQueue:
    """Redis Streams when ``CATALYST_QUEUE`` names a Redis URL, else SQLite under home."""
    if settings.queue:
        from catalyst_search.stores.redis_queue import RedisQueue

        return RedisQueue(_redis_client(settings.queue), prefix=settings.redis_prefix)
    return SqliteQueue(settings.queue_db)


def open_jobs(settings: Settings) -> JobStore:
    """Job records beside the queue: Redis with the Redis queue, else SQLite under home."""
    if settings.queue:
        from catalyst_search.stores.redis_jobs import RedisJobStore

        return RedisJobStore(_redis_client(settings.queue), prefix=settings.redis_prefix)
    return SqliteJobStore(settings.jobs_db)


def open_dispatcher(settings: Settings, on_outage: Callable[[], None] | None = None) -> Dispatcher:
    return Dispatcher(
        open_queue(settings),
        SqliteQueue(settings.outbox_db),
        open_jobs(settings),
        on_outage=on_outage,
    )


def submit(
    dispatcher: Dispatcher,
    *,
    tenant_id: str,
    sources: list[str],
    metadata: dict[str, Any] | None = None,
) -> tuple[str, str]:
    """Validate ``sources`` and hand the job to the dispatcher: (job id, ``queue``|``outbox``)."""
    checked = [check_source(raw, where=f"sources[{i}]") for i, raw in enumerate(sources)]
    if not checked:
        raise InvalidSource("sources: give at least one folder or JSONL file")
    if len(set(checked)) != len(checked):
        raise InvalidSource("sources: each source may appear once per job")
    message = IngestMessage(uuid.uuid4().hex, tenant_id, checked, metadata or {})
    return message.job_id, dispatcher.publish(message)


def find_job(dispatcher: Dispatcher, job_id: str) -> Job | None:
    """The job record, or a queued view of a job still waiting in the outbox."""
    try:
        job = dispatcher.jobs.get(job_id)
    except QUEUE_ERRORS:
        job = None
    if job is not None:
        return job
    waiting = dispatcher.waiting(job_id)
    if waiting is None:
        return None
    now = time.time()
    runs = [SourceRun(source=s, status="queued") for s in waiting.sources]
    return Job(job_id, waiting.tenant_id, waiting.sources, waiting.metadata, now, now, runs)


def dispatch_degraded(jobs: JobStore, *, stale_s: float) -> str | None:
    """Why queued jobs would not start now, or None when the dispatch sensor is ticking."""
    try:
        beat = jobs.last_beat(SENSOR_NAME)
    except QUEUE_ERRORS as exc:
        return f"the ingest queue is unreachable ({exc}); requests wait in the local outbox"
    if beat is None:
        return "the Dagster daemon has never run the ingest_requests sensor (start it: make dev)"
    age = time.time() - beat
    if age > stale_s:
        return f"the ingest_requests sensor last ran {age:.0f}s ago: is the Dagster daemon up?"
    return None
