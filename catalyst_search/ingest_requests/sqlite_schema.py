"""The tables of the SQLite job store, and the columns a store written by an earlier version
gains when it is opened."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from catalyst_search.sqlite import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    sources TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    cancel_requested_at REAL
);
CREATE INDEX IF NOT EXISTS jobs_by_tenant ON jobs (tenant_id, created_at);
CREATE TABLE IF NOT EXISTS job_runs (
    job_id TEXT NOT NULL,
    source TEXT NOT NULL,
    run_id TEXT,
    status TEXT NOT NULL,
    docs_done INTEGER NOT NULL DEFAULT 0,
    docs_total INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    step_retries INTEGER NOT NULL DEFAULT 0,
    failures TEXT NOT NULL DEFAULT '[]',
    artifact_uris TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    retried TEXT NOT NULL DEFAULT '[]',
    updated_at REAL NOT NULL,
    PRIMARY KEY (job_id, source)
);
CREATE TABLE IF NOT EXISTS heartbeats (name TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS job_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS job_events_by_job ON job_events (job_id, id);
"""


def add_column(path: Path, table: str, column: str) -> None:
    """Add ``column`` (a definition) to ``table`` unless it is there."""
    name = column.split()[0]
    with connect(path) as conn:
        if name in {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}:
            return
        try:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
        except sqlite3.OperationalError as exc:  # another process added it meanwhile
            if "duplicate column" not in str(exc):
                raise
