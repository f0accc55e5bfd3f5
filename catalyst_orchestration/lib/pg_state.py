"""The state of a deployment without local disk: registered sources, the document manifest,
the S3 ETag cache and the index metadata in PostgreSQL (``CATALYST_STATE_URL``).

Any number of hosts share it: a run launched on another host finds the manifest the last run
wrote (what is unchanged, which chunks are stale) and the BM25 average length the index was
built with. Same methods as the SQLite ``StateStore`` of the embedded default.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict
from typing import Any

from psycopg2.extras import execute_values

from catalyst_orchestration.lib.state import (
    TOTALS,
    ManifestEntry,
    RemoteObject,
    Source,
    SourceTotals,
    partition_key_for,
)
from catalyst_orchestration.lib.state_locks import (
    INDEX_KEY,
    Held,
    advisory_lock,
    lock_connection,
    lock_key,
)
from catalyst_search.index.meta import IndexMeta

_SCHEMA = """
CREATE TABLE IF NOT EXISTS catalyst_sources (
    partition_key TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, uri TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS catalyst_documents (
    collection TEXT NOT NULL, tenant_id TEXT NOT NULL, document_id TEXT NOT NULL,
    source TEXT NOT NULL, fingerprint TEXT NOT NULL, chunk_count INTEGER NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (collection, tenant_id, document_id)
);
CREATE INDEX IF NOT EXISTS catalyst_documents_by_source
    ON catalyst_documents (collection, tenant_id, source);
CREATE TABLE IF NOT EXISTS catalyst_remote_objects (
    source TEXT NOT NULL, key TEXT NOT NULL, etag TEXT NOT NULL, sha256 TEXT NOT NULL,
    artifact_uri TEXT NOT NULL, size BIGINT NOT NULL, mime TEXT NOT NULL,
    PRIMARY KEY (source, key)
);
CREATE TABLE IF NOT EXISTS catalyst_index_meta (
    collection TEXT PRIMARY KEY, meta TEXT NOT NULL
);
"""


class PostgresStateStore:
    def __init__(self, url: str) -> None:
        import psycopg2

        self._connect = lambda: psycopg2.connect(url, connect_timeout=10)
        self._lock_connect = lambda: psycopg2.connect(connect_timeout=10, **lock_connection(url))
        self._conn: Any = None
        with self._cursor() as cur:  # DDL only once: it locks the tables and needs ownership
            cur.execute("SELECT to_regclass('catalyst_index_meta')")
            if cur.fetchone()[0] is None:
                cur.execute("SELECT pg_advisory_xact_lock(4242)")  # one schema creator at a time
                cur.execute(_SCHEMA)

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        """One transaction; the connection is reopened when the server dropped it."""
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        try:
            with self._conn, self._conn.cursor() as cur:
                yield cur
        except Exception:
            if self._conn.closed:
                self._conn = None
            raise

    def index_lock(
        self, *, exclusive: bool = False, wait: bool = True
    ) -> AbstractContextManager[Held]:
        """Index writes (shared) against a rebuild's swap or a retire (exclusive), across
        hosts; ``wait=False``: ``LockHeld`` at once (an exclusive one waiting counts too)."""
        return advisory_lock(self._lock_connect, INDEX_KEY, exclusive=exclusive, wait=wait)

    def rebuild_lock(self, collection: str) -> AbstractContextManager[Held]:
        """One rebuild of ``collection`` at a time, across hosts; ``LockHeld`` at once."""
        key = lock_key(f"rebuild:{collection}")
        return advisory_lock(self._lock_connect, key, exclusive=True, wait=False)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def register_source(self, tenant_id: str, uri: str) -> Source:
        key = partition_key_for(tenant_id, uri)
        with self._cursor() as cur:
            cur.execute(
                "INSERT INTO catalyst_sources VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (key, tenant_id, uri, time.time()),
            )
        return Source(key, tenant_id, uri)

    def unregister_source(self, partition_key: str) -> None:
        with self._cursor() as cur:
            cur.execute("DELETE FROM catalyst_sources WHERE partition_key = %s", (partition_key,))

    def source(self, partition_key: str) -> Source:
        with self._cursor() as cur:
            cur.execute(
                "SELECT partition_key, tenant_id, uri FROM catalyst_sources "
                "WHERE partition_key = %s",
                (partition_key,),
            )
            row = cur.fetchone()
        if row is None:
            raise KeyError(f"no source is registered for partition {partition_key!r}")
        return Source(*row)

    def sources(self) -> list[Source]:
        with self._cursor() as cur:
            cur.execute("SELECT partition_key, tenant_id, uri FROM catalyst_sources ORDER BY 1")
            return [Source(*row) for row in cur.fetchall()]

    def manifest(
        self, collection: str, tenant_id: str, ids: Iterable[str]
    ) -> dict[str, ManifestEntry]:
        wanted = list(ids)
        found: dict[str, ManifestEntry] = {}
        with self._cursor() as cur:
            for start in range(0, len(wanted), 1000):
                cur.execute(
                    "SELECT document_id, source, fingerprint, chunk_count FROM catalyst_documents "
                    "WHERE collection = %s AND tenant_id = %s AND document_id = ANY(%s)",
                    (collection, tenant_id, wanted[start : start + 1000]),
                )
                for row in cur.fetchall():
                    found[row[0]] = ManifestEntry(*row)
        return found

    def record(self, collection: str, tenant_id: str, entries: Iterable[ManifestEntry]) -> None:
        now = time.time()
        rows = [
            (collection, tenant_id, e.document_id, e.source, e.fingerprint, e.chunk_count, now)
            for e in entries
        ]
        with self._cursor() as cur:
            execute_values(
                cur,
                "INSERT INTO catalyst_documents VALUES %s "
                "ON CONFLICT (collection, tenant_id, document_id) DO UPDATE SET "
                "source = EXCLUDED.source, fingerprint = EXCLUDED.fingerprint, "
                "chunk_count = EXCLUDED.chunk_count, updated_at = EXCLUDED.updated_at",
                rows,
            )

    def source_documents(self, collection: str, tenant_id: str, source: str) -> set[str]:
        with self._cursor() as cur:
            cur.execute(
                "SELECT document_id FROM catalyst_documents "
                "WHERE collection = %s AND tenant_id = %s AND source = %s",
                (collection, tenant_id, source),
            )
            return {row[0] for row in cur.fetchall()}

    def forget(self, collection: str, tenant_id: str, ids: Iterable[str]) -> None:
        with self._cursor() as cur:
            cur.execute(
                "DELETE FROM catalyst_documents "
                "WHERE collection = %s AND tenant_id = %s AND document_id = ANY(%s)",
                (collection, tenant_id, list(ids)),
            )

    def source_totals(self, collection: str, tenant_id: str, source: str) -> SourceTotals:
        with self._cursor() as cur:
            cur.execute(
                f"SELECT {TOTALS.replace('%', '%%')} FROM catalyst_documents "  # (psycopg2's %)
                "WHERE collection = %s AND tenant_id = %s AND source = %s",
                (collection, tenant_id, source),
            )
            return SourceTotals(*map(int, cur.fetchone()))

    def replace_collection(self, collection: str, by: str) -> None:
        """The manifest of ``by`` becomes ``collection``'s (a rebuild went live)."""
        with self._cursor() as cur:
            cur.execute("DELETE FROM catalyst_documents WHERE collection = %s", (collection,))
            cur.execute(
                "UPDATE catalyst_documents SET collection = %s WHERE collection = %s",
                (collection, by),
            )

    def forget_collection(self, collection: str) -> None:
        with self._cursor() as cur:
            cur.execute("DELETE FROM catalyst_documents WHERE collection = %s", (collection,))

    def remote_objects(self, source: str) -> dict[str, RemoteObject]:
        with self._cursor() as cur:
            cur.execute(
                "SELECT key, etag, sha256, artifact_uri, size, mime FROM catalyst_remote_objects "
                "WHERE source = %s",
                (source,),
            )
            return {row[0]: RemoteObject(*row) for row in cur.fetchall()}

    def record_remote_objects(
        self, source: str, objects: Iterable[RemoteObject], *, keep: set[str] | None
    ) -> None:
        rows = [(source, o.key, o.etag, o.sha256, o.artifact_uri, o.size, o.mime) for o in objects]
        with self._cursor() as cur:
            execute_values(
                cur,
                "INSERT INTO catalyst_remote_objects VALUES %s "
                "ON CONFLICT (source, key) DO UPDATE SET etag = EXCLUDED.etag, "
                "sha256 = EXCLUDED.sha256, artifact_uri = EXCLUDED.artifact_uri, "
                "size = EXCLUDED.size, mime = EXCLUDED.mime",
                rows,
            )
            if keep is not None:
                cur.execute(
                    "DELETE FROM catalyst_remote_objects WHERE source = %s AND NOT key = ANY(%s)",
                    (source, list(keep)),
                )

    def index_meta(self, collection: str) -> IndexMeta | None:
        with self._cursor() as cur:
            cur.execute("SELECT meta FROM catalyst_index_meta WHERE collection = %s", (collection,))
            row = cur.fetchone()
        return IndexMeta(**json.loads(row[0])) if row else None

    def fix_index_meta(self, collection: str, meta: IndexMeta) -> IndexMeta:
        """Store ``meta`` unless another writer fixed the index's first; the one that holds."""
        with self._cursor() as cur:
            cur.execute(
                "INSERT INTO catalyst_index_meta VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (collection, json.dumps(asdict(meta))),
            )
        held = self.index_meta(collection)
        assert held is not None
        return held
