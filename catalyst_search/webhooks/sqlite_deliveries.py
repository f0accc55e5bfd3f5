"""Webhook deliveries of the embedded default, in the job store's SQLite file."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from catalyst_search.sqlite import connect
from catalyst_search.webhooks.deliveries import LEASE_S, Origin, WebhookDelivery

_SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    delivery_id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    url TEXT NOT NULL,
    origin TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL,
    last_status INTEGER,
    last_error TEXT,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_job ON webhook_deliveries (job_id);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (state, next_at);
"""
_COLUMNS = (
    "delivery_id, job_id, tenant_id, url, origin, state, attempts, next_at, last_status, "
    "last_error, updated_at"
)


class SqliteDeliveries:
    def __init__(self, path: Path) -> None:
        self.path = path
        with connect(path) as conn:
            conn.executescript(_SCHEMA)

    def register(self, job_id: str, tenant_id: str, urls: list[str], origin: Origin) -> None:
        now = time.time()
        with connect(self.path) as conn:
            conn.executemany(
                "INSERT INTO webhook_deliveries (delivery_id, job_id, tenant_id, url, origin, "
                "state, updated_at) VALUES (?, ?, ?, ?, ?, 'waiting', ?)",
                [(uuid.uuid4().hex, job_id, tenant_id, url, origin, now) for url in urls],
            )

    def job_finished(self, job_id: str) -> None:
        now = time.time()
        with connect(self.path) as conn:
            conn.execute(
                "UPDATE webhook_deliveries SET state = 'pending', next_at = ?, updated_at = ? "
                "WHERE job_id = ? AND state = 'waiting'",
                (now, now, job_id),
            )

    def claim_due(self, now: float, *, limit: int) -> list[WebhookDelivery]:
        with connect(self.path) as conn:
            rows = conn.execute(
                f"UPDATE webhook_deliveries SET next_at = ? WHERE delivery_id IN ("
                "SELECT delivery_id FROM webhook_deliveries WHERE state = 'pending' "
                "AND next_at <= ? ORDER BY next_at LIMIT ?) "
                f"RETURNING {_COLUMNS}",
                (now + LEASE_S, now, limit),
            ).fetchall()
        claimed = [WebhookDelivery(*row) for row in rows]
        for delivery in claimed:  # next_at holds the lease until the outcome is recorded
            delivery.lease = delivery.next_at
        return claimed

    def record(self, delivery: WebhookDelivery) -> bool:
        with connect(self.path) as conn:
            cursor = conn.execute(
                "UPDATE webhook_deliveries SET state = ?, attempts = ?, next_at = ?, "
                "last_status = ?, last_error = ?, updated_at = ? WHERE delivery_id = ? "
                "AND state = 'pending' AND next_at = ?",  # the claim still holds
                (
                    delivery.state,
                    delivery.attempts,
                    delivery.next_at,
                    delivery.last_status,
                    delivery.last_error,
                    time.time(),
                    delivery.delivery_id,
                    delivery.lease,
                ),
            )
        return cursor.rowcount == 1

    def for_job(self, job_id: str) -> list[WebhookDelivery]:
        with connect(self.path) as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM webhook_deliveries WHERE job_id = ? ORDER BY rowid",
                (job_id,),
            ).fetchall()
        return [WebhookDelivery(*row) for row in rows]
