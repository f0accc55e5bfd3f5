"""SQLite state of the embedded default: registered sources and the document manifest.

The manifest records, per (tenant, document), the fingerprint (content hash + chunking +
encoders + schema) and chunk count that the published index holds. It is written only after
the index version that holds those chunks has been published, so it never runs ahead of it.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import astuple, dataclass
from pathlib import Path

from catalyst_orchestration.lib.state_locks import Held, file_lock, lock_name
from catalyst_search.sqlite import connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    partition_key TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    uri TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    collection TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    document_id TEXT NOT NULL,
    source TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    chunk_count INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (collection, tenant_id, document_id)
);
CREATE INDEX IF NOT EXISTS documents_by_source ON documents (collection, tenant_id, source);
CREATE TABLE IF NOT EXISTS remote_objects (
    source TEXT NOT NULL,
    key TEXT NOT NULL,
    etag TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    artifact_uri TEXT NOT NULL,
    size INTEGER NOT NULL,
    mime TEXT NOT NULL,
    PRIMARY KEY (source, key)
);
"""


@dataclass(frozen=True)
class Source:
    partition_key: str
    tenant_id: str
    uri: str


@dataclass(frozen=True)
class ManifestEntry:
    document_id: str
    source: str
    fingerprint: str
    chunk_count: int


@dataclass(frozen=True)
class SourceTotals:
    """What the manifest holds from one source. ``written`` sums its entries' write times in
    microseconds, each modulo 2^31 - 1 (a sum of the times overflows: SQLite's SUM raises): a
    write or removal changes it but for one chance in 2^31. Compare a store with itself only."""

    documents: int
    chunks: int
    written: int


#: SourceTotals in SQL, one expression for SQLite and PostgreSQL (their ROUND of a half differs)
TOTALS = ("COUNT(*), COALESCE(SUM(chunk_count), 0), "
          "COALESCE(SUM(CAST(ROUND(updated_at * 1e6) AS BIGINT) % 2147483647), 0)")  # fmt: skip


@dataclass(frozen=True)
class RemoteObject:
    """An S3 object as last downloaded: its ETag and where its bytes are in the artifact store."""

    key: str
    etag: str
    sha256: str
    artifact_uri: str
    size: int
    mime: str


def partition_key_for(tenant_id: str, uri: str) -> str:
    """A readable, stable partition key: tenant, source name and a short hash of the URI."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(uri.rstrip("/")).name or "source")[:40]
    digest = hashlib.sha256(f"{tenant_id}\x1f{uri}".encode()).hexdigest()[:8]
    return f"{tenant_id}.{name}.{digest}"


class StateStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        with self._connect() as conn:
            conn.executescript(_SCHEMA)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return connect(self.path)

    def close(self) -> None:
        """Nothing to close: every call opens and closes its own connection."""

    def register_source(self, tenant_id: str, uri: str) -> Source:
        key = partition_key_for(tenant_id, uri)
        with self._connect() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO sources VALUES (?, ?, ?, ?)",
                (key, tenant_id, uri, time.time()),
            )
        return Source(key, tenant_id, uri)

    def unregister_source(self, partition_key: str) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM sources WHERE partition_key = ?", (partition_key,))

    def source(self, partition_key: str) -> Source:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT partition_key, tenant_id, uri FROM sources WHERE partition_key = ?",
                (partition_key,),
            ).fetchone()
        if row is None:
            raise KeyError(
                f"no source is registered for partition {partition_key!r}; "
                "register it with `catalystctl ingest PATH`"
            )
        return Source(*row)

    def manifest(
        self, collection: str, tenant_id: str, ids: Iterable[str]
    ) -> dict[str, ManifestEntry]:
        wanted = list(ids)
        found: dict[str, ManifestEntry] = {}
        with self._connect() as conn:
            for start in range(0, len(wanted), 500):
                part = wanted[start : start + 500]
                marks = ",".join("?" * len(part))
                rows = conn.execute(
                    "SELECT document_id, source, fingerprint, chunk_count FROM documents "
                    f"WHERE collection = ? AND tenant_id = ? AND document_id IN ({marks})",
                    (collection, tenant_id, *part),
                )
                for row in rows:
                    found[row[0]] = ManifestEntry(*row)
        return found

    def record(self, collection: str, tenant_id: str, entries: Iterable[ManifestEntry]) -> None:
        now = time.time()
        with self._connect() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(collection, tenant_id, *astuple(e), now) for e in entries],
            )

    def source_documents(self, collection: str, tenant_id: str, source: str) -> set[str]:
        """Ids of the documents the index holds from ``source``."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT document_id FROM documents "
                "WHERE collection = ? AND tenant_id = ? AND source = ?",
                (collection, tenant_id, source),
            ).fetchall()
        return {row[0] for row in rows}

    def forget(self, collection: str, tenant_id: str, ids: Iterable[str]) -> None:
        """Drop documents whose chunks were deleted from the index."""
        with self._connect() as conn:
            conn.executemany(
                "DELETE FROM documents WHERE collection = ? AND tenant_id = ? AND document_id = ?",
                [(collection, tenant_id, i) for i in ids],
            )

    def remote_objects(self, source: str) -> dict[str, RemoteObject]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT key, etag, sha256, artifact_uri, size, mime FROM remote_objects "
                "WHERE source = ?",
                (source,),
            ).fetchall()
        return {row[0]: RemoteObject(*row) for row in rows}

    def record_remote_objects(
        self, source: str, objects: Iterable[RemoteObject], *, keep: set[str] | None
    ) -> None:
        """Remember downloaded objects; forget the ones no longer listed (not in ``keep``,
        when given)."""
        with self._connect() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO remote_objects VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(source, *astuple(o)) for o in objects],
            )
            if keep is None:
                return
            query = "SELECT key FROM remote_objects WHERE source = ?"
            known = [r[0] for r in conn.execute(query, (source,))]
            conn.executemany(
                "DELETE FROM remote_objects WHERE source = ? AND key = ?",
                [(source, k) for k in known if k not in keep],
            )

    def source_totals(self, collection: str, tenant_id: str, source: str) -> SourceTotals:
        with self._connect() as conn:
            row = conn.execute(
                f"SELECT {TOTALS} FROM documents "
                "WHERE collection = ? AND tenant_id = ? AND source = ?",
                (collection, tenant_id, source),
            ).fetchone()
        return SourceTotals(*map(int, row))

    def index_lock(
        self, *, exclusive: bool = False, wait: bool = True
    ) -> AbstractContextManager[Held]:
        """Index writes (shared) against a rebuild's swap or a retire (exclusive)."""
        path = self.path.with_name(self.path.name + ".index.lock")
        return file_lock(path, exclusive=exclusive, wait=wait)

    def rebuild_lock(self, collection: str) -> AbstractContextManager[Held]:
        """One rebuild of ``collection`` at a time; ``LockHeld`` at once if one is running."""
        name = f"{self.path.name}.rebuild-{lock_name(collection)}.lock"
        return file_lock(self.path.with_name(name), exclusive=True, wait=False)

    def sources(self) -> list[Source]:
        with self._connect() as conn:
            rows = conn.execute("SELECT partition_key, tenant_id, uri FROM sources ORDER BY 1")
            return [Source(*row) for row in rows]

    def replace_collection(self, collection: str, by: str) -> None:
        """The manifest of ``by`` becomes ``collection``'s (a rebuild went live)."""
        with self._connect() as conn:
            conn.execute("DELETE FROM documents WHERE collection = ?", (collection,))
            conn.execute(
                "UPDATE documents SET collection = ? WHERE collection = ?", (collection, by)
            )

    def forget_collection(self, collection: str) -> None:
        """Drop the manifest of an index that no longer exists (it was wiped or recreated)."""
        with self._connect() as conn:
            conn.execute("DELETE FROM documents WHERE collection = ?", (collection,))
