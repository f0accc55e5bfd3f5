"""Submitting ingest work: validate, record the job, queue it, or keep it in a local outbox.

The API (and the CLI through it) calls ``submit``. Nothing is lost: a request the queue refuses
is written to SQLite on the accepting host and re-published once the queue answers again.
Re-publishing can repeat a message (a crash between publish and delete); its job id makes the
sensor's run keys the same, so no run is launched twice.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Literal

import redis

from catalyst_search.ingest_requests.contract import IngestMessage
from catalyst_search.ingest_requests.jobs import Job, JobStore, SourceRun
from catalyst_search.ingest_requests.queue import IngestQueue, SqliteQueue
from catalyst_search.ingest_requests.remote import SourceRules
from catalyst_search.ingest_requests.sources import check_sources
from catalyst_search.webhooks.deliveries import Origin

log = logging.getLogger("catalyst_search.dispatch")

#: Where an accepted request went: the queue, or the local outbox while the queue is down.
Dispatched = Literal["queue", "outbox"]

#: What an unreachable queue raises; redis-py's errors do not derive from the builtin ones.
QUEUE_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    OSError,
    redis.ConnectionError,
    redis.TimeoutError,
)


def record_job(jobs: JobStore, message: IngestMessage) -> None:
    """The job record of ``message``, made unless it exists (a redelivery made it already)."""
    if not jobs.exists(message.job_id):
        jobs.create(
            job_id=message.job_id,
            tenant_id=message.tenant_id,
            sources=message.sources,
            metadata=message.metadata,
        )


class DispatchUnavailable(RuntimeError):
    """Neither the queue nor the local outbox took the request: nothing was accepted."""


class Dispatcher:
    """Publishes to the queue, falling back to the outbox, and drains the outbox later."""

    def __init__(
        self,
        queue: IngestQueue,
        outbox: SqliteQueue,
        jobs: JobStore,
        *,
        on_outage: Callable[[], None] | None = None,
    ) -> None:
        self.queue = queue
        self.outbox = outbox
        self.jobs = jobs
        self._on_outage = on_outage
        self._lock = threading.Lock()

    def _deliver(self, message: IngestMessage) -> None:
        """Record the job and its webhooks (once each: a delivery that failed after the record
        was made registers what is missing) and queue its message; raises when the store is
        unreachable."""
        record_job(self.jobs, message)
        hooks = self.jobs.webhooks
        wanted: list[tuple[Origin, list[str]]] = [
            ("job", list(message.webhooks)),
            ("tenant", [message.tenant_webhook] if message.tenant_webhook else []),
        ]
        if any(urls for _, urls in wanted):
            have = {d.origin for d in hooks.for_job(message.job_id)}
            for origin, urls in wanted:
                if urls and origin not in have:
                    hooks.register(message.job_id, message.tenant_id, urls, origin)
        self.queue.publish(message)

    def publish(self, message: IngestMessage) -> Dispatched:
        """``queue`` when the queue took it, ``outbox`` when it waits locally."""
        self.drain()
        try:
            self._deliver(message)
            return "queue"
        except QUEUE_ERRORS as exc:
            try:
                self.outbox.publish(message)
            except (OSError, sqlite3.Error) as local:  # a read-only CATALYST_HOME
                log.error("ingest queue unreachable (%s) and no outbox (%s)", exc, local)
                raise DispatchUnavailable(
                    "the ingest queue is unreachable and this host keeps no outbox; retry later"
                ) from exc
            log.warning(
                "ingest queue unreachable (%s); job %s kept in the outbox", exc, message.job_id
            )
            if self._on_outage:
                self._on_outage()
            return "outbox"

    def drain(self, *, limit: int = 100) -> int:
        """Move waiting requests to the queue; stops at the first failure, and makes what it
        claimed but did not deliver visible again at once. Returns how many it moved."""
        moved = 0
        with self._lock:
            claimed = self.outbox.claim(limit=limit, visibility_s=30)
            for n, delivery in enumerate(claimed):
                try:
                    self._deliver(delivery.message)
                except QUEUE_ERRORS:
                    self.outbox.release([d.message_id for d in claimed[n:]])
                    break
                self.outbox.ack([delivery.message_id])
                moved += 1
        if moved:
            log.info("drained %d ingest requests from the outbox", moved)
        return moved

    def depth(self) -> int:
        return self.outbox.depth()

    def waiting(self, job_id: str) -> IngestMessage | None:
        """The message of a job still in the outbox (its record is written on delivery)."""
        return self.outbox.find(job_id)


def drain_forever(dispatcher: Dispatcher, stop: threading.Event, interval_s: float) -> None:
    """The service's background loop: keep emptying the outbox while it runs."""
    while not stop.wait(interval_s):
        try:
            dispatcher.drain()
        except Exception:  # keep the loop alive; the next tick tries again
            log.exception("outbox drain failed")


#: What every job id looks like: a request's ``uuid4().hex``, a source watch's ``uuid5().hex``.
JOB_ID = re.compile(r"[0-9a-f]{32}")


def submit(
    dispatcher: Dispatcher,
    *,
    tenant_id: str,
    sources: list[str],
    rules: SourceRules,
    metadata: dict[str, Any] | None = None,
    webhooks: Sequence[str] = (),
    tenant_webhook: str | None = None,
) -> tuple[str, Dispatched]:
    """Validate ``sources`` against the tenant's ``rules`` and hand the job to the dispatcher:
    (job id, ``queue``|``outbox``). ``webhooks`` (the job's own) and ``tenant_webhook`` are URLs
    the caller has checked."""
    checked = check_sources(sources, rules=rules)
    message = IngestMessage(
        uuid.uuid4().hex, tenant_id, checked, metadata or {}, list(webhooks), tenant_webhook
    )
    return message.job_id, dispatcher.publish(message)


def find_job(dispatcher: Dispatcher, job_id: str) -> Job | None:
    """The job record, or a queued view of a job still waiting in the outbox. An id unlike
    every job id (32 hex digits) is no job: it never reaches a store (in Redis, a key of the
    job's own, ``...:events``, names another kind of value)."""
    if not JOB_ID.fullmatch(job_id):
        return None
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
