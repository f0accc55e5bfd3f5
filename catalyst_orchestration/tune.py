"""Drain the feedback log and tune boosts now, in this process:
``python -m catalyst_orchestration.tune`` (what ``catalystctl feedback tune`` runs).

Every day with pending feedback is materialized (``drain_feedback``), then ``tune_relevance``
runs: the runs are recorded in the Dagster instance under ``DAGSTER_HOME`` like the schedule's.
Prints one JSON summary; exits 0 when the new boosts went live (or there was nothing to tune), 1
when the quality check kept them back, 2 when a run failed.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from catalyst_orchestration.ingest import ensure_dagster_home
from catalyst_search.feedback.factory import open_feedback
from catalyst_search.settings import get_settings


def pending_days() -> list[str]:
    """Days from the oldest pending feedback to today (UTC)."""
    store = open_feedback(get_settings())
    try:
        oldest = store.oldest_pending()
    finally:
        store.close()
    if oldest is None:
        return []
    first = int(oldest // 86400)
    last = int(datetime.now(UTC).timestamp() // 86400)
    return [
        datetime.fromtimestamp(d * 86400, UTC).strftime("%Y-%m-%d") for d in range(first, last + 1)
    ]


def drain_and_tune(instance: dg.DagsterInstance) -> dict[str, Any]:
    from catalyst_orchestration.definitions import defs

    definitions = defs()
    drained: list[str] = []
    for day in pending_days():
        run = definitions.resolve_job_def("drain_feedback").execute_in_process(
            instance=instance, partition_key=day, raise_on_error=False
        )
        if not run.success:
            return {"drained": drained, "failed": f"drain of {day}", "run_id": run.run_id}
        drained.append(day)
    tune = definitions.resolve_job_def("tune_relevance").execute_in_process(
        instance=instance, raise_on_error=False
    )
    checks = [
        e.asset_check_evaluation_data
        for e in tune.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    materialized = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in tune.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key is not None
    }
    built = materialized.get("relevance_boosts", {})
    outcome: dict[str, Any] = {
        "drained": drained,
        "run_id": tune.run_id,
        "version": built["version"].value if "version" in built else None,
        "check_passed": bool(checks) and all(c.passed for c in checks),
        "check": [c.description for c in checks],
        "published": "live_boosts" in materialized,
    }
    kept_back = checks and not all(c.passed for c in checks)
    if not tune.success and not kept_back:
        outcome["failed"] = "tune_relevance"  # a step failed other than the quality check
    return outcome


def main() -> int:
    settings = get_settings()
    ensure_dagster_home(settings)
    with dg.DagsterInstance.get() as instance:
        outcome = drain_and_tune(instance)
    sys.stdout.write(json.dumps(outcome, indent=2) + "\n")
    if "failed" in outcome:
        return 2
    return 0 if outcome["published"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
