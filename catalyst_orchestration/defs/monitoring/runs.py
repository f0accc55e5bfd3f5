"""Reads what one finished ingest run did from the Dagster instance's event log."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import dagster as dg

from catalyst_orchestration.lib.run_metrics import RunFigures
from catalyst_search.ingest_requests.contract import TENANT_TAG

#: The run status events the metrics sensor counts, and the ``status`` label each gets.
FINISHED = {
    dg.DagsterEventType.RUN_SUCCESS: "success",
    dg.DagsterEventType.RUN_FAILURE: "failure",
    dg.DagsterEventType.RUN_CANCELED: "canceled",
}
_OUTCOMES = ("seen", "new", "changed", "unchanged", "failed")


def _values(materialization: dg.AssetMaterialization) -> dict[str, Any]:
    return {key: value.value for key, value in materialization.metadata.items()}


def _failures(by_class: Any) -> dict[tuple[str, str], int]:
    """``{"permanent:MalformedRecord": 2}`` (the steps' ``failures_by_class``) by label pair."""
    if isinstance(by_class, str):
        by_class = json.loads(by_class)
    found: dict[tuple[str, str], int] = {}
    for key, count in (by_class or {}).items():
        failure_class, _, error = str(key).partition(":")
        found[(failure_class, error or "unknown")] = int(count)
    return found


def read_run(
    instance: dg.DagsterInstance, run_id: str, *, status: str, finished_at: float
) -> RunFigures:
    """Figures of ``run_id``: retries from its events; documents, chunks and failures from the
    metadata of the last step that reported them (``index``, else ``parsed_documents`` or
    ``raw_documents`` for a run that failed before indexing)."""
    run = instance.get_run_by_id(run_id)
    tags = dict(run.tags) if run else {}
    stats = instance.get_run_stats(run_id)
    started = stats.start_time or stats.launch_time or finished_at
    events = instance.all_logs(
        run_id,
        of_type={dg.DagsterEventType.STEP_UP_FOR_RETRY, dg.DagsterEventType.ASSET_MATERIALIZATION},
    )
    retries = Counter(
        e.step_key
        for e in events
        if e.dagster_event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY and e.step_key
    )
    by_asset: dict[str, dict[str, Any]] = {}
    for entry in events:
        if entry.asset_materialization is not None:
            key = entry.asset_materialization.asset_key.to_user_string()
            by_asset[key] = _values(entry.asset_materialization)
    figures = RunFigures(
        run_id=run_id,
        tenant_id="unknown",
        status=status,
        duration_s=max(0.0, finished_at - started),
        finished_at=finished_at,
        run_retry=int(tags.get("dagster/retry_number", 0) or 0) > 0,
        step_retries=dict(retries),
    )
    index = by_asset.get("index")
    if index is not None:
        figures.documents = {o: int(index.get(f"documents_{o}", 0)) for o in _OUTCOMES}
        figures.chunks = {
            "written": int(index.get("chunks_written", 0)),
            "deleted": int(index.get("chunks_deleted", 0)),
        }
        figures.index_version = str(index.get("index_version") or "") or None
    last = index or by_asset.get("parsed_documents") or by_asset.get("raw_documents") or {}
    figures.failures = _failures(last.get("failures_by_class"))
    if index is None and figures.failures:
        figures.documents = {"failed": sum(figures.failures.values())}
    tenant = tags.get(TENANT_TAG) or next(
        (meta["tenant_id"] for meta in by_asset.values() if meta.get("tenant_id")), None
    )
    figures.tenant_id = str(tenant or "unknown")
    return figures
