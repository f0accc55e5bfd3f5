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
_OUTCOMES = ("seen", "new", "changed", "unchanged", "deleted", "failed")
INGESTION_ASSETS = {"raw_documents", "parsed_documents", "chunks", "index"}


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


def is_ingest_run(run: dg.DagsterRun) -> bool:
    """A run of the ``ingest`` job, or one that materialized ingestion assets from the UI."""
    if run.job_name == "ingest":
        return True
    selection = run.asset_selection or set()
    return any(key.to_user_string() in INGESTION_ASSETS for key in selection)


def read_run(
    instance: dg.DagsterInstance, run: dg.DagsterRun, *, status: str, finished_at: float
) -> RunFigures:
    """Figures of ``run``: its retries from its events; documents, chunks and failures from the
    metadata of its ``index`` step. A run that never finished that step counts none: the run
    that does (a Dagster retry re-executes from the failed step) reports every failure of the
    batch, so counting the earlier run's too would count them twice."""
    stats = instance.get_run_stats(run.run_id)
    started = stats.start_time or stats.launch_time or finished_at
    events = instance.all_logs(
        run.run_id,
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
    tenant = run.tags.get(TENANT_TAG) or next(
        (meta["tenant_id"] for meta in by_asset.values() if meta.get("tenant_id")), None
    )
    figures = RunFigures(
        run_id=run.run_id,
        tenant_id=str(tenant or "unknown"),
        status=status,
        duration_s=max(0.0, finished_at - started),
        finished_at=finished_at,
        run_retry=int(run.tags.get("dagster/retry_number", 0) or 0) > 0,
        step_retries=dict(retries),
    )
    raw = by_asset.get("raw_documents")
    if raw is not None and raw.get("source_kind"):
        figures.fetch_kind = str(raw["source_kind"])
        figures.fetch = {
            key: json.loads(raw[key]) if isinstance(raw.get(key), str) else raw.get(key)
            for key in ("fetches", "fetched_bytes", "retries", "fetch_failures")
        }
    index = by_asset.get("index")
    if index is not None:
        figures.documents = {o: int(index.get(f"documents_{o}", 0)) for o in _OUTCOMES}
        figures.chunks = {
            "written": int(index.get("chunks_written", 0)),
            "deleted": int(index.get("chunks_deleted", 0)),
        }
        figures.failures = _failures(index.get("failures_by_class"))
        figures.index_version = str(index.get("index_version") or "") or None
    return figures
