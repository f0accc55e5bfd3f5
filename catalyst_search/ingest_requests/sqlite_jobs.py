"""Job records of the embedded default: ``$CATALYST_HOME/jobs.sqlite``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from catalyst_search.ingest_requests.events import JobEvent
from catalyst_search.ingest_requests.jobs import Job, RunUpdates, SourceRun
from catalyst_search.ingest_requests.sqlite_schema import SCHEMA as _SCHEMA
from catalyst_search.ingest_requests.sqlite_schema import add_column as _add_column
from catalyst_search.ingest_requests.watches import SqliteWatches
from catalyst_search.sqlite import connect
from catalyst_search.webhooks.sqlite_deliveries import SqliteDeliveries


class SqliteJobStore(RunUpdates):
    """The embedded default: ``$CATALYST_HOME/jobs.sqlite``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with connect(path) as conn:
            conn.executescript(_SCHEMA)
        # columns a store written by an earlier version lacks
        _add_column(path, "job_runs", "step_retries INTEGER NOT NULL DEFAULT 0")
        _add_column(path, "jobs", "cancel_requested_at REAL")
        _add_column(path, "job_runs", "retried TEXT NOT NULL DEFAULT '[]'")
        self.webhooks = SqliteDeliveries(path)
        self.watches = SqliteWatches(path)

    def close(self) -> None:
        """Nothing to close: every call opens and closes its own connection."""

    def create(self, *, job_id: str, tenant_id: str, sources: list[str], metadata: dict) -> Job:
        now = time.time()
        with connect(self.path) as conn:
            conn.execute(
                "INSERT INTO jobs (job_id, tenant_id, sources, metadata, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (job_id, tenant_id, json.dumps(sources), json.dumps(metadata), now, now),
            )
            conn.executemany(
                "INSERT INTO job_runs (job_id, source, status, updated_at) VALUES (?, ?, ?, ?)",
                [(job_id, source, "queued", now) for source in sources],
            )
        self._append(job_id, "job_queued", {"sources": sources})
        job = self.get(job_id)
        assert job is not None
        return job

    def exists(self, job_id: str) -> bool:
        with connect(self.path) as conn:
            found = conn.execute("SELECT 1 FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return found is not None

    def get(self, job_id: str) -> Job | None:
        with connect(self.path) as conn:
            row = conn.execute(
                "SELECT job_id, tenant_id, sources, metadata, created_at, updated_at, "
                "cancel_requested_at FROM jobs WHERE job_id = ?",
                (job_id,),
            ).fetchone()
            if row is None:
                return None
            runs = conn.execute(
                "SELECT source, status, run_id, docs_done, docs_total, attempts, step_retries, "
                "failures, artifact_uris, error, retried FROM job_runs WHERE job_id = ?",
                (job_id,),
            ).fetchall()
        order = json.loads(row[2])
        by_source = {
            r[0]: SourceRun(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                json.loads(r[7]),
                json.loads(r[8]),
                r[9],
                json.loads(r[10] or "[]"),
            )  # fmt: skip
            for r in runs
        }
        return Job(
            row[0],
            row[1],
            order,
            json.loads(row[3]),
            row[4],
            row[5],
            [by_source[s] for s in order if s in by_source],
            row[6],
        )

    def list_jobs(
        self, tenant_id: str, *, limit: int, after: tuple[float, str] | None
    ) -> list[Job]:
        at, job_id = after if after else (float("inf"), "")
        with connect(self.path) as conn:
            rows = conn.execute(
                "SELECT job_id FROM jobs WHERE tenant_id = ? "
                "AND (created_at < ? OR (created_at = ? AND job_id < ?)) "
                "ORDER BY created_at DESC, job_id DESC LIMIT ?",
                (tenant_id, at, at, job_id, limit),
            ).fetchall()
        jobs = [self.get(row[0]) for row in rows]
        return [job for job in jobs if job is not None]

    def _request_cancel(self, job_id: str) -> None:
        with connect(self.path) as conn:
            conn.execute(
                "UPDATE jobs SET cancel_requested_at = COALESCE(cancel_requested_at, ?) "
                "WHERE job_id = ?",
                (time.time(), job_id),
            )

    def _cancel_queued(self, job_id: str, source: str, error: str) -> bool:
        with connect(self.path) as conn:
            changed = conn.execute(
                "UPDATE job_runs SET status = 'cancelled', error = ?, updated_at = ? "
                "WHERE job_id = ? AND source = ? AND status = 'queued' AND run_id IS NULL "
                "RETURNING source",
                (error, time.time(), job_id, source),
            ).fetchone()
            if changed:
                conn.execute(
                    "UPDATE jobs SET updated_at = ? WHERE job_id = ?", (time.time(), job_id)
                )
        return changed is not None

    def pending_cancels(self, *, limit: int) -> list[str]:
        with connect(self.path) as conn:
            rows = conn.execute(
                "SELECT DISTINCT j.job_id FROM jobs j JOIN job_runs r ON r.job_id = j.job_id "
                "WHERE j.cancel_requested_at IS NOT NULL "
                "AND r.status IN ('queued', 'running', 'retrying') ORDER BY RANDOM() LIMIT ?",
                (limit,),
            ).fetchall()
        return [row[0] for row in rows]

    def _update(self, job_id: str, source: str, **fields: Any) -> None:
        now = time.time()
        assignments = ", ".join(f"{key} = ?" for key in fields)
        with connect(self.path) as conn:
            conn.execute(
                f"UPDATE job_runs SET {assignments}, updated_at = ? "
                "WHERE job_id = ? AND source = ?",
                (*fields.values(), now, job_id, source),
            )
            conn.execute("UPDATE jobs SET updated_at = ? WHERE job_id = ?", (now, job_id))

    def run_started(
        self, job_id: str, source: str, *, run_id: str, step_retry: bool = False
    ) -> None:
        """A run (or a retry of it) began working on ``source``; repeats within a run are no-ops
        for the attempt count, so every step may call it. ``step_retry``: this step is a retry."""
        with connect(self.path) as conn:
            new = conn.execute(
                "UPDATE job_runs SET attempts = attempts + 1 "
                "WHERE job_id = ? AND source = ? AND (run_id IS NULL OR run_id != ?) "
                "RETURNING attempts",
                (job_id, source, run_id),
            ).fetchone()
            if step_retry:
                conn.execute(
                    "UPDATE job_runs SET step_retries = step_retries + 1 "
                    "WHERE job_id = ? AND source = ?",
                    (job_id, source),
                )
        self._update(job_id, source, run_id=run_id, status="running", error=None)
        attempt = int(new[0]) if new else None
        self._started(job_id, source, run_id=run_id, attempt=attempt, step_retry=step_retry)

    def _append(self, job_id: str, kind: str, data: dict[str, Any]) -> None:
        with connect(self.path) as conn:
            conn.execute(
                "INSERT INTO job_events (job_id, at, kind, data) VALUES (?, ?, ?, ?)",
                (job_id, time.time(), kind, json.dumps(data)),
            )

    def events(self, job_id: str, *, after: str | None, limit: int) -> list[JobEvent]:
        """The job's events after id ``after`` (from the first when None or not an id)."""
        start = int(after) if after and after.isascii() and after.isdigit() else 0
        with connect(self.path) as conn:
            rows = conn.execute(
                "SELECT id, at, kind, data FROM job_events WHERE job_id = ? AND id > ? "
                "ORDER BY id LIMIT ?",
                (job_id, start, limit),
            ).fetchall()
        return [JobEvent(str(r[0]), r[1], r[2], json.loads(r[3])) for r in rows]

    def beat(self, name: str) -> None:
        """Record that ``name`` (the dispatch sensor) is alive."""
        with connect(self.path) as conn:
            conn.execute("INSERT OR REPLACE INTO heartbeats VALUES (?, ?)", (name, time.time()))

    def last_beat(self, name: str) -> float | None:
        with connect(self.path) as conn:
            row = conn.execute("SELECT at FROM heartbeats WHERE name = ?", (name,)).fetchone()
        return float(row[0]) if row else None
