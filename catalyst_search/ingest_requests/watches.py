"""Watched sources: the folders, S3 prefixes and web pages a tenant asked to keep in sync.

Kept beside the job records (SQLite or Redis). The code location's sensors watch them (new or
changed objects start a sync run) and its schedule re-syncs each one nightly. A watch's id is
derived from its tenant and URI, so watching the same source twice is one watch.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import redis

from catalyst_search.ingest_requests.remote import SourceKind, source_kind
from catalyst_search.sqlite import connect

#: Most watched sources one tenant may have.
MAX_WATCHES = 100


class TooManyWatches(ValueError):
    pass


@dataclass(frozen=True)
class Watch:
    watch_id: str
    tenant_id: str
    uri: str
    created_at: float

    @property
    def kind(self) -> SourceKind:
        return source_kind(self.uri)


def watch_id_for(tenant_id: str, uri: str) -> str:
    return hashlib.sha256(f"{tenant_id}\x1f{uri}".encode()).hexdigest()[:16]


class WatchRegistry(Protocol):
    def add(self, tenant_id: str, uri: str) -> Watch:
        """Watch ``uri`` (a checked source) for ``tenant_id``; idempotent."""
        ...

    def listed(self, tenant_id: str | None = None) -> list[Watch]:
        """A tenant's watches, or every tenant's (the sensors), oldest first."""
        ...

    def remove(self, tenant_id: str, watch_id: str) -> bool: ...

    def has(self, watch_id: str) -> bool:
        """Whether the watch is there (an id names its tenant and source)."""
        ...


class SqliteWatches:
    def __init__(self, path: Path) -> None:
        self.path = path
        with connect(path) as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS watches (watch_id TEXT PRIMARY KEY, "
                "tenant_id TEXT NOT NULL, uri TEXT NOT NULL, created_at REAL NOT NULL)"
            )

    def add(self, tenant_id: str, uri: str) -> Watch:
        watch = Watch(watch_id_for(tenant_id, uri), tenant_id, uri, time.time())
        with connect(self.path) as conn:
            count = conn.execute(
                "SELECT COUNT(*) FROM watches WHERE tenant_id = ?", (tenant_id,)
            ).fetchone()[0]
            known = conn.execute(
                "SELECT created_at FROM watches WHERE watch_id = ?", (watch.watch_id,)
            ).fetchone()
            if known:
                return Watch(watch.watch_id, tenant_id, uri, known[0])
            if count >= MAX_WATCHES:
                raise TooManyWatches(f"at most {MAX_WATCHES} watched sources per tenant")
            conn.execute("INSERT INTO watches VALUES (?, ?, ?, ?)", tuple(asdict(watch).values()))
        return watch

    def listed(self, tenant_id: str | None = None) -> list[Watch]:
        query = "SELECT watch_id, tenant_id, uri, created_at FROM watches"
        args: tuple[str, ...] = ()
        if tenant_id is not None:
            query, args = query + " WHERE tenant_id = ?", (tenant_id,)
        with connect(self.path) as conn:
            rows = conn.execute(query + " ORDER BY created_at, watch_id", args).fetchall()
        return [Watch(*row) for row in rows]

    def has(self, watch_id: str) -> bool:
        with connect(self.path) as conn:
            query = "SELECT 1 FROM watches WHERE watch_id = ?"
            return conn.execute(query, (watch_id,)).fetchone() is not None

    def remove(self, tenant_id: str, watch_id: str) -> bool:
        with connect(self.path) as conn:
            gone = conn.execute(
                "DELETE FROM watches WHERE tenant_id = ? AND watch_id = ?", (tenant_id, watch_id)
            ).rowcount
        return bool(gone)


class RedisWatches:
    """One hash of every watch (id -> JSON); tenants filter on read (at most 100 each)."""

    def __init__(self, client: redis.Redis, *, prefix: str) -> None:
        self.client = client
        self.key = f"{prefix}:watches"

    def add(self, tenant_id: str, uri: str) -> Watch:
        watch = Watch(watch_id_for(tenant_id, uri), tenant_id, uri, time.time())
        known = self.client.hget(self.key, watch.watch_id)
        if known:
            return Watch(**json.loads(known))  # type: ignore[arg-type]
        if len(self.listed(tenant_id)) >= MAX_WATCHES:
            raise TooManyWatches(f"at most {MAX_WATCHES} watched sources per tenant")
        self.client.hsetnx(self.key, watch.watch_id, json.dumps(asdict(watch)))
        return watch

    def listed(self, tenant_id: str | None = None) -> list[Watch]:
        raw: dict[str, str] = self.client.hgetall(self.key)  # type: ignore[assignment]
        watches = [Watch(**json.loads(value)) for value in raw.values()]
        mine = [w for w in watches if tenant_id is None or w.tenant_id == tenant_id]
        return sorted(mine, key=lambda w: (w.created_at, w.watch_id))

    def has(self, watch_id: str) -> bool:
        return bool(self.client.hexists(self.key, watch_id))

    def remove(self, tenant_id: str, watch_id: str) -> bool:
        known = self.client.hget(self.key, watch_id)
        if not known or json.loads(known)["tenant_id"] != tenant_id:  # type: ignore[arg-type]
            return False
        return bool(self.client.hdel(self.key, watch_id))
