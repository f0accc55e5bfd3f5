"""The ingest queue: requests wait here until the Dagster sensor turns them into runs.

Delivery is at least once: a claimed message becomes visible again if it is not acknowledged
within its visibility timeout, and the sensor acknowledges only after the run request it made
for it has been recorded. Run keys make a redelivered message harmless.
"""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path
from typing import Protocol

from catalyst_search.ingest_requests.contract import Delivery, IngestMessage
from catalyst_search.sqlite import connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ingest_queue (
    message_id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    enqueued_at REAL NOT NULL,
    visible_at REAL NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ingest_queue_visible ON ingest_queue (visible_at);
CREATE INDEX IF NOT EXISTS ingest_queue_job ON ingest_queue (
    CASE WHEN json_valid(body) THEN json_extract(body, '$.job_id') END
);
"""
#: ``find``'s lookup, the indexed expression (a body that is not JSON has no job id)
_BY_JOB = (
    "SELECT body FROM ingest_queue "
    "WHERE CASE WHEN json_valid(body) THEN json_extract(body, '$.job_id') END = ? LIMIT 1"
)
#: Messages no version of this code can read (a newer API's, one written by hand): kept for an
#: operator instead of failing every claim they would be part of.
_DEAD = """
CREATE TABLE IF NOT EXISTS ingest_dead (
    message_id TEXT PRIMARY KEY, body TEXT NOT NULL, at REAL NOT NULL, error TEXT NOT NULL
);
"""
#: What decoding a message body that is not an ``IngestMessage`` raises.
UNREADABLE = (ValueError, TypeError, KeyError)

log = logging.getLogger("catalyst_search.ingest")


class IngestQueue(Protocol):
    def publish(self, message: IngestMessage) -> str: ...

    def claim(self, *, limit: int, visibility_s: float) -> list[Delivery]: ...

    def ack(self, message_ids: list[str]) -> None: ...

    def depth(self) -> int: ...

    def oldest_age_s(self) -> float: ...

    def close(self) -> None: ...


class SqliteQueue:
    """The embedded default: a table in ``$CATALYST_HOME/queue.sqlite``."""

    def __init__(self, path: Path, *, lazy: bool = False) -> None:
        """``lazy`` (the outbox): the file is created by the first publish, so a host whose
        queue never fails, or whose ``CATALYST_HOME`` is read-only, never writes it."""
        self.path = path
        if not lazy or path.exists():  # (an outbox written by an earlier version gains its index)
            self._create()

    def _create(self) -> None:
        with connect(self.path) as conn:
            conn.executescript(_SCHEMA)

    def close(self) -> None:
        """Nothing to close: every call opens and closes its own connection."""

    def publish(self, message: IngestMessage) -> str:
        message_id = uuid.uuid4().hex
        now = time.time()
        if not self.path.exists():
            self._create()
        with connect(self.path) as conn:
            conn.execute(
                "INSERT INTO ingest_queue VALUES (?, ?, ?, ?, 0)",
                (message_id, message.to_json(), now, now),
            )
        return message_id

    def claim(self, *, limit: int, visibility_s: float) -> list[Delivery]:
        """Take up to ``limit`` visible messages, hiding them for ``visibility_s`` seconds."""
        if not self.path.exists():
            return []
        now = time.time()
        with connect(self.path) as conn:
            conn.execute("BEGIN IMMEDIATE")
            rows = conn.execute(
                "SELECT message_id, body, deliveries FROM ingest_queue WHERE visible_at <= ? "
                "ORDER BY enqueued_at LIMIT ?",
                (now, limit),
            ).fetchall()
            conn.executemany(
                "UPDATE ingest_queue SET visible_at = ?, deliveries = deliveries + 1 "
                "WHERE message_id = ?",
                [(now + visibility_s, row[0]) for row in rows],
            )
        deliveries = []
        for message_id, body, count in rows:
            try:
                deliveries.append(Delivery(message_id, IngestMessage.from_json(body), count + 1))
            except UNREADABLE as exc:
                self._bury(message_id, body, exc)
        return deliveries

    def _bury(self, message_id: str, body: str, exc: Exception) -> None:
        """Move an unreadable message to ``ingest_dead`` (its body is not logged: it may name
        sources with credentials in them)."""
        log.error("ingest request %s cannot be read, kept in ingest_dead: %r", message_id, exc)
        with connect(self.path) as conn:
            conn.executescript(_DEAD)
            conn.execute(
                "INSERT OR REPLACE INTO ingest_dead VALUES (?, ?, ?, ?)",
                (message_id, body, time.time(), repr(exc)),
            )
            conn.execute("DELETE FROM ingest_queue WHERE message_id = ?", (message_id,))

    def release(self, message_ids: list[str]) -> None:
        """Make claimed messages visible again at once."""
        with connect(self.path) as conn:
            conn.executemany(
                "UPDATE ingest_queue SET visible_at = 0 WHERE message_id = ?",
                [(m,) for m in message_ids],
            )

    def ack(self, message_ids: list[str]) -> None:
        with connect(self.path) as conn:
            conn.executemany(
                "DELETE FROM ingest_queue WHERE message_id = ?", [(m,) for m in message_ids]
            )

    def depth(self) -> int:
        if not self.path.exists():
            return 0
        with connect(self.path) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM ingest_queue").fetchone()[0])

    def find(self, job_id: str) -> IngestMessage | None:
        """A queued message by job id (through an index on the body's ``job_id``)."""
        if not self.path.exists():
            return None
        with connect(self.path) as conn:
            row = conn.execute(_BY_JOB, (job_id,)).fetchone()
        return IngestMessage.from_json(row[0]) if row else None

    def oldest_age_s(self) -> float:
        if not self.path.exists():
            return 0.0
        with connect(self.path) as conn:
            oldest = conn.execute("SELECT MIN(enqueued_at) FROM ingest_queue").fetchone()[0]
        return max(0.0, time.time() - oldest) if oldest is not None else 0.0
