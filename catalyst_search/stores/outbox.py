"""A local durable outbox: requests accepted while the queue is unreachable wait here.

Nothing is lost: a request the queue refuses is written to SQLite on the accepting host and
re-published once the queue answers again. Re-publishing can repeat a message (a crash between
publish and delete); its job id makes the sensor's run keys the same, so no run is launched twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from catalyst_search.stores.jobs import JobStore
from catalyst_search.stores.queue import IngestMessage, IngestQueue, SqliteQueue

log = logging.getLogger("catalyst_search.dispatch")

QUEUE_ERRORS: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError, OSError)
try:  # redis-py's errors do not derive from the builtin ones
    import redis

    QUEUE_ERRORS += (redis.ConnectionError, redis.TimeoutError)
except ImportError:  # pragma: no cover - redis is a dependency
    pass


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
        """Record the job (once) and queue its message; raises when the store is unreachable."""
        if not self.jobs.exists(message.job_id):
            self.jobs.create(
                job_id=message.job_id,
                tenant_id=message.tenant_id,
                sources=message.sources,
                metadata=message.metadata,
            )
        self.queue.publish(message)

    def publish(self, message: IngestMessage) -> str:
        """``queue`` when the queue took it, ``outbox`` when it waits locally."""
        self.drain()
        try:
            self._deliver(message)
            return "queue"
        except QUEUE_ERRORS as exc:
            self.outbox.publish(message)
            log.warning(
                "ingest queue unreachable (%s); job %s kept in the outbox", exc, message.job_id
            )
            if self._on_outage:
                self._on_outage()
            return "outbox"

    def drain(self, *, limit: int = 100) -> int:
        """Move waiting requests to the queue; stops at the first failure. Returns how many."""
        moved = 0
        with self._lock:
            for delivery in self.outbox.claim(limit=limit, visibility_s=30):
                try:
                    self._deliver(delivery.message)
                except QUEUE_ERRORS:
                    self.outbox.release([delivery.message_id])
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
