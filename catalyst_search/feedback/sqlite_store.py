"""The feedback store of the embedded default: ``$CATALYST_HOME/feedback.sqlite``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from catalyst_search.feedback.records import FeedbackEvent, SearchRecord, normalized
from catalyst_search.feedback.store import SEARCH_TTL_S, BoostVersion, day_of, hour_of
from catalyst_search.sqlite import connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS searches (
    query_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, at REAL NOT NULL, record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS searches_by_time ON searches (at);
CREATE TABLE IF NOT EXISTS feedback (
    event_id TEXT PRIMARY KEY, at REAL NOT NULL, acked INTEGER NOT NULL DEFAULT 0,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_pending ON feedback (acked, at);
CREATE TABLE IF NOT EXISTS counters (
    tenant_id TEXT NOT NULL, hour INTEGER NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, hour, name)
);
CREATE TABLE IF NOT EXISTS query_counts (
    tenant_id TEXT NOT NULL, day INTEGER NOT NULL, query TEXT NOT NULL,
    searches INTEGER NOT NULL DEFAULT 0, negatives INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day, query)
);
CREATE TABLE IF NOT EXISTS boosts (
    tenant_id TEXT NOT NULL, version TEXT NOT NULL, created_at REAL NOT NULL,
    boosts TEXT NOT NULL, stats TEXT NOT NULL, PRIMARY KEY (tenant_id, version)
);
CREATE TABLE IF NOT EXISTS live_boosts (tenant_id TEXT PRIMARY KEY, version TEXT NOT NULL);
"""
#: versions kept per tenant (the live one always)
KEEP_VERSIONS = 20
_COUNT = (
    "INSERT INTO counters VALUES (?, ?, ?, 1) "
    "ON CONFLICT (tenant_id, hour, name) DO UPDATE SET value = value + 1"
)


class SqliteFeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        with connect(path) as conn:
            conn.executescript(_SCHEMA)

    def close(self) -> None:
        """Nothing to close: every call opens and closes its own connection."""

    def log_searches(self, records: list[SearchRecord]) -> None:
        with connect(self.path) as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO searches VALUES (?, ?, ?, ?)",
                [(r.query_id, r.tenant_id, r.at, r.to_json()) for r in records],
            )
            for r in records:
                hour = hour_of(r.at)
                conn.execute(_COUNT, (r.tenant_id, hour, "searches"))
                if not r.results:
                    conn.execute(_COUNT, (r.tenant_id, hour, "zero_results"))
                conn.execute(
                    "INSERT INTO query_counts (tenant_id, day, query, searches) "
                    "VALUES (?, ?, ?, 1) ON CONFLICT (tenant_id, day, query) "
                    "DO UPDATE SET searches = searches + 1",
                    (r.tenant_id, day_of(r.at), normalized(r.query)),
                )
            conn.execute("DELETE FROM searches WHERE at < ?", (time.time() - SEARCH_TTL_S,))

    def search(self, tenant_id: str, query_id: str) -> SearchRecord | None:
        with connect(self.path) as conn:
            row = conn.execute(
                "SELECT record FROM searches WHERE query_id = ? AND tenant_id = ? AND at >= ?",
                (query_id, tenant_id, time.time() - SEARCH_TTL_S),
            ).fetchone()
        return SearchRecord.from_json(row[0]) if row else None

    def add_feedback(self, event: FeedbackEvent) -> bool:
        with connect(self.path) as conn:
            added = conn.execute(
                "INSERT OR IGNORE INTO feedback (event_id, at, event) VALUES (?, ?, ?)",
                (event.event_id, event.at, event.to_json()),
            ).rowcount
            if not added:
                return False
            hour = hour_of(event.at)
            conn.execute(_COUNT, (event.tenant_id, hour, "feedback"))
            if event.kind == "click":
                conn.execute(_COUNT, (event.tenant_id, hour, "clicks"))
            conn.execute(
                _COUNT, (event.tenant_id, hour, "positive" if event.rating > 0 else "negative")
            )
            if event.rating < 0:
                conn.execute(
                    "INSERT INTO query_counts (tenant_id, day, query, negatives) "
                    "VALUES (?, ?, ?, 1) ON CONFLICT (tenant_id, day, query) "
                    "DO UPDATE SET negatives = negatives + 1",
                    (event.tenant_id, day_of(event.at), normalized(event.query)),
                )
        return True

    def pending(self, start: float, end: float, *, limit: int) -> list[FeedbackEvent]:
        with connect(self.path) as conn:
            rows = conn.execute(
                "SELECT event FROM feedback WHERE acked = 0 AND at >= ? AND at < ? "
                "ORDER BY at LIMIT ?",
                (start, end, limit),
            ).fetchall()
        return [FeedbackEvent.from_json(row[0]) for row in rows]

    def ack(self, event_ids: list[str]) -> None:
        """Acknowledged events stay while the same feedback could come again (its search is
        logged for ``SEARCH_TTL_S``; a day's margin), then go: they are in the day files."""
        with connect(self.path) as conn:
            conn.executemany(
                "UPDATE feedback SET acked = 1 WHERE event_id = ?", [(i,) for i in event_ids]
            )
            forgotten = time.time() - SEARCH_TTL_S - 86400
            conn.execute("DELETE FROM feedback WHERE acked = 1 AND at < ?", (forgotten,))

    def oldest_pending(self) -> float | None:
        with connect(self.path) as conn:
            row = conn.execute("SELECT MIN(at) FROM feedback WHERE acked = 0").fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def pending_count(self) -> int:
        with connect(self.path) as conn:
            row = conn.execute("SELECT COUNT(*) FROM feedback WHERE acked = 0").fetchone()
        return int(row[0])

    def counters(self, tenant_id: str, start: float, end: float) -> dict[int, dict[str, int]]:
        with connect(self.path) as conn:
            rows = conn.execute(
                "SELECT hour, name, value FROM counters "
                "WHERE tenant_id = ? AND hour >= ? AND hour < ?",
                (tenant_id, hour_of(start), end),
            ).fetchall()
        found: dict[int, dict[str, int]] = {}
        for hour, name, value in rows:
            found.setdefault(int(hour), {})[name] = int(value)
        return found

    def queries(
        self, tenant_id: str, start: float, end: float, *, top: int
    ) -> dict[str, tuple[int, int]]:
        found: dict[str, tuple[int, int]] = {}
        with connect(self.path) as conn:
            for order in ("s DESC, query", "n DESC, query"):  # only these leave the database
                rows = conn.execute(
                    "SELECT query, SUM(searches) AS s, SUM(negatives) AS n FROM query_counts "
                    "WHERE tenant_id = ? AND day >= ? AND day < ? GROUP BY query "
                    f"ORDER BY {order} LIMIT ?",
                    (tenant_id, day_of(start), end, top),
                ).fetchall()
                found |= {query: (int(s), int(n)) for query, s, n in rows}
        return found

    def put_boosts(
        self, tenant_id: str, version: str, boosts: dict[str, Any], stats: dict[str, Any]
    ) -> None:
        with connect(self.path) as conn:
            conn.execute(
                "INSERT OR REPLACE INTO boosts VALUES (?, ?, ?, ?, ?)",
                (tenant_id, version, time.time(), json.dumps(boosts), json.dumps(stats)),
            )
            conn.execute(  # the oldest past KEEP_VERSIONS go, never the live one
                "DELETE FROM boosts WHERE tenant_id = ? AND version NOT IN (SELECT version FROM "
                "boosts WHERE tenant_id = ? ORDER BY created_at DESC LIMIT ?) AND version NOT IN "
                "(SELECT version FROM live_boosts WHERE tenant_id = ?)",
                (tenant_id, tenant_id, KEEP_VERSIONS, tenant_id),
            )

    def activate(self, tenant_id: str, version: str) -> bool:
        with connect(self.path) as conn:
            known = conn.execute(
                "SELECT 1 FROM boosts WHERE tenant_id = ? AND version = ?", (tenant_id, version)
            ).fetchone()
            if known:
                conn.execute(
                    "INSERT OR REPLACE INTO live_boosts VALUES (?, ?)", (tenant_id, version)
                )
        return known is not None

    def live_version(self, tenant_id: str) -> str | None:
        with connect(self.path) as conn:
            row = conn.execute(
                "SELECT version FROM live_boosts WHERE tenant_id = ?", (tenant_id,)
            ).fetchone()
        return str(row[0]) if row else None

    def live_tenants(self) -> list[str]:
        with connect(self.path) as conn:
            rows = conn.execute("SELECT tenant_id FROM live_boosts ORDER BY tenant_id").fetchall()
        return [str(row[0]) for row in rows]

    def live_boosts(self, tenant_id: str) -> tuple[str, dict[str, Any]] | None:
        with connect(self.path) as conn:
            row = conn.execute(
                "SELECT b.version, b.boosts FROM live_boosts l JOIN boosts b "
                "ON b.tenant_id = l.tenant_id AND b.version = l.version WHERE l.tenant_id = ?",
                (tenant_id,),
            ).fetchone()
        return (str(row[0]), json.loads(row[1])) if row else None

    def get_boosts(self, tenant_id: str, version: str) -> dict[str, Any] | None:
        with connect(self.path) as conn:
            row = conn.execute(
                "SELECT boosts FROM boosts WHERE tenant_id = ? AND version = ?",
                (tenant_id, version),
            ).fetchone()
        return json.loads(row[0]) if row else None

    def boost_versions(self, tenant_id: str) -> list[BoostVersion]:
        live = self.live_version(tenant_id)
        with connect(self.path) as conn:
            rows = conn.execute(
                "SELECT version, created_at, stats FROM boosts WHERE tenant_id = ? "
                "ORDER BY created_at DESC",
                (tenant_id,),
            ).fetchall()
        return [BoostVersion(v, float(at), v == live, json.loads(st)) for v, at, st in rows]
