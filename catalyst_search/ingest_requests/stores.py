"""Open the configured queue, job store and dispatcher: Redis when ``CATALYST_QUEUE`` names
one, SQLite under ``CATALYST_HOME`` otherwise."""

from __future__ import annotations

from collections.abc import Callable

import redis

from catalyst_search.ingest_requests.dispatch import Dispatcher
from catalyst_search.ingest_requests.jobs import JobStore
from catalyst_search.ingest_requests.queue import IngestQueue, SqliteQueue
from catalyst_search.settings import Settings, SettingsError

#: Redis answers in milliseconds; an outage should fail fast into the outbox, not hang a request.
REDIS_TIMEOUT_S = 2.0


def redis_client(url: str) -> redis.Redis:
    """The Redis behind ``CATALYST_QUEUE``, with short timeouts so an outage fails fast."""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(
            "CATALYST_QUEUE: expected a redis://, rediss:// or unix:// URL, "
            "or unset it for the SQLite queue"
        )
    return redis.Redis.from_url(
        url,
        socket_timeout=REDIS_TIMEOUT_S,
        socket_connect_timeout=REDIS_TIMEOUT_S,
        decode_responses=True,
    )


def open_queue(settings: Settings, client: redis.Redis | None = None) -> IngestQueue:
    """Redis Streams when ``CATALYST_QUEUE`` names a Redis URL, else SQLite under home."""
    if settings.queue:
        from catalyst_search.ingest_requests.redis_queue import RedisQueue

        return RedisQueue(client or redis_client(settings.queue), prefix=settings.redis_prefix)
    return SqliteQueue(settings.queue_db)


def open_jobs(settings: Settings, client: redis.Redis | None = None) -> JobStore:
    """Job records beside the queue: Redis with the Redis queue, else SQLite under home."""
    if settings.queue:
        from catalyst_search.ingest_requests.redis_jobs import RedisJobStore

        return RedisJobStore(client or redis_client(settings.queue), prefix=settings.redis_prefix)
    from catalyst_search.ingest_requests.sqlite_jobs import SqliteJobStore

    return SqliteJobStore(settings.jobs_db)


def open_dispatcher(settings: Settings, on_outage: Callable[[], None] | None = None) -> Dispatcher:
    """The service's dispatcher: queue and job store sharing one Redis client, local outbox."""
    client = redis_client(settings.queue) if settings.queue else None
    return Dispatcher(
        open_queue(settings, client),
        SqliteQueue(settings.outbox_db, lazy=True),
        open_jobs(settings, client),
        on_outage=on_outage,
    )
