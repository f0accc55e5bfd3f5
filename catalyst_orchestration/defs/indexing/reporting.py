"""What the index step tells a person: progress lines in the run log, metadata in the UI."""

from __future__ import annotations

from typing import Any

import dagster as dg

from catalyst_orchestration.defs.failures import failure_metadata
from catalyst_orchestration.defs.requests.tracking import RunTracker
from catalyst_orchestration.lib.indexing import IndexOutcome, IndexProgress
from catalyst_search.index.meta import IndexMeta


class ProgressReport:
    """Job progress (a record update and an event) at each whole percent of the documents; a
    log line every 5% of the chunks."""

    def __init__(
        self, context: dg.AssetExecutionContext, tracker: RunTracker, *, total_chunks: int
    ) -> None:
        self._log = context.log
        self._tracker = tracker
        self._step = max(1, total_chunks // 20)
        self._logged = 0
        self._percent = -1

    def __call__(self, p: IndexProgress) -> None:
        percent = 100 * p.documents_done // max(p.documents_total, 1)
        if percent != self._percent:
            self._percent = percent
            self._tracker.progress(p.documents_done, p.documents_total)
        if p.chunks_done - self._logged >= self._step or p.chunks_done == p.chunks_total:
            self._logged = p.chunks_done
            self._log.info(
                f"embedded {p.chunks_done}/{p.chunks_total} chunks "
                f"({100 * p.chunks_done // max(p.chunks_total, 1)}%); "
                f"{p.documents_done}/{p.documents_total} documents done"
            )


def outcome_line(outcome: IndexOutcome) -> str:
    return (
        f"index {outcome.index_version}: {outcome.new} new, {outcome.changed} changed, "
        f"{outcome.unchanged} unchanged, {outcome.deleted} deleted, {outcome.failed} failed "
        "documents; "
        f"{outcome.chunks_written} chunks written, {outcome.chunks_deleted} deleted"
    )


def index_metadata(
    outcome: IndexOutcome,
    *,
    tenant_id: str,
    source: str,
    backend: str,
    meta: IndexMeta,
    duration_s: float,
) -> dict[str, Any]:
    """Counts, the published version, and where the step's time went."""
    return {
        "tenant_id": tenant_id,
        "source": source,
        "documents_seen": outcome.seen,
        "documents_new": outcome.new,
        "documents_changed": outcome.changed,
        "documents_unchanged": outcome.unchanged,
        "documents_deleted": outcome.deleted,
        "documents_failed": outcome.failed,
        "chunks_written": outcome.chunks_written,
        "chunks_deleted": outcome.chunks_deleted,
        "index_version": outcome.index_version or "",
        "index_backend": backend,
        "bm25_avg_len": meta.bm25_avg_len,
        "embed_s": round(outcome.embed_s, 3),
        "write_s": round(outcome.write_s, 3),
        "publish_s": round(outcome.publish_s, 3),
        "duration_s": round(duration_s, 3),
        **failure_metadata(outcome.failures),
    }
