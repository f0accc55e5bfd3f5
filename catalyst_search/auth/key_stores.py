"""Where API keys live: SQLite under ``CATALYST_HOME``, or Redis beside the queue."""

from __future__ import annotations

import time

from catalyst_search.auth.keys import ApiKey, KeyStore
from catalyst_search.settings import Settings
from catalyst_search.sqlite import connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    roles TEXT NOT NULL,
    label TEXT NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL,
    digest TEXT NOT NULL
);
"""
_COLUMNS = "key_id, tenant_id, roles, label, created_at, revoked_at, digest"


def _row(row: tuple) -> ApiKey:
    key_id, tenant, roles, label, created, revoked, key_digest = row
    return ApiKey(key_id, tenant, tuple(roles.split(",")), label, created, revoked, key_digest)


class SqliteKeyStore:
    """The embedded default: ``$CATALYST_HOME/keys.sqlite``."""

    def __init__(self, settings: Settings) -> None:
        self.path = settings.keys_db
        with connect(self.path) as conn:
            conn.executescript(_SCHEMA)

    def add(self, key: ApiKey) -> None:
        with connect(self.path) as conn:
            conn.execute(
                f"INSERT INTO api_keys ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key.key_id,
                    key.tenant_id,
                    ",".join(key.roles),
                    key.label,
                    key.created_at,
                    key.revoked_at,
                    key.digest,
                ),
            )

    def get(self, key_id: str) -> ApiKey | None:
        with connect(self.path) as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM api_keys WHERE key_id = ?", (key_id,)
            ).fetchone()
        return _row(row) if row else None

    def list(self, tenant_id: str | None = None) -> list[ApiKey]:
        query, args = f"SELECT {_COLUMNS} FROM api_keys", tuple[str, ...]()
        if tenant_id is not None:
            query, args = query + " WHERE tenant_id = ?", (tenant_id,)
        with connect(self.path) as conn:
            rows = conn.execute(query + " ORDER BY created_at", args).fetchall()
        return [_row(row) for row in rows]

    def revoke(self, key_id: str) -> bool:
        with connect(self.path) as conn:
            done = conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                (time.time(), key_id),
            )
        return done.rowcount == 1

    def close(self) -> None:
        """Nothing to close: every call opens its own connection."""


def open_keys(settings: Settings) -> KeyStore:
    """Redis beside the queue when ``CATALYST_QUEUE`` names one, else SQLite under home."""
    if settings.queue:
        from catalyst_search.auth.redis_keys import RedisKeyStore
        from catalyst_search.ingest_requests.stores import redis_client

        return RedisKeyStore(redis_client(settings.queue), prefix=settings.redis_prefix)
    return SqliteKeyStore(settings)
