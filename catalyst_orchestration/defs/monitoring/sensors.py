"""Every finished ingest run, failed ones included, adds to counters on the Pushgateway."""

from __future__ import annotations

import json
import time

import dagster as dg

from catalyst_orchestration.defs.monitoring.runs import FINISHED, is_ingest_run, read_run
from catalyst_orchestration.defs.requests.run_ends import WILL_RETRY_TAG
from catalyst_orchestration.defs.resources import PushgatewayResource
from catalyst_orchestration.lib.run_metrics import IngestTotals

SENSOR_NAME = "ingest_run_metrics"
MAX_RUNS_PER_TICK = 50  # per status: a tick reads at most 150 runs, well inside its timeout


def _retried(run: dg.DagsterRun) -> bool:
    """A failed run Dagster's daemon will run again: tagged so, and launched from a code
    location (a run executed in process keeps the tag but is never retried)."""
    return run.tags.get(WILL_RETRY_TAG) == "true" and run.remote_job_origin is not None


@dg.sensor(
    name=SENSOR_NAME,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds each finished ingest run (succeeded, failed or cancelled) to cumulative "
    "counters and pushes them to CATALYST_PUSHGATEWAY_URL; the totals live in this cursor.",
)
def ingest_run_metrics(
    context: dg.SensorEvaluationContext, pushgateway: PushgatewayResource
) -> dg.SkipReason:
    """One group on the gateway, replaced on every tick with the totals of every run so far.

    The cursor holds an event-log cursor per run status and the totals themselves, so a tick
    that cannot reach the gateway loses nothing: the next one pushes the totals again.
    """
    if not pushgateway.configured:
        return dg.SkipReason("CATALYST_PUSHGATEWAY_URL is not set: nothing to push to")
    state = json.loads(context.cursor) if context.cursor else {}
    after: dict[str, str] = state.get("after", {})
    totals = IngestTotals.from_json(state.get("totals", {}))
    counted, now = 0, time.time()
    for event_type, status in FINISHED.items():
        result = context.instance.fetch_run_status_changes(
            event_type, limit=MAX_RUNS_PER_TICK, cursor=after.get(status), ascending=True
        )
        for record in result.records:
            entry = record.event_log_entry
            run = context.instance.get_run_by_id(entry.run_id)
            if run is None or not is_ingest_run(run):
                continue
            final = "retried" if status == "failure" and _retried(run) else status
            totals.add(read_run(context.instance, run, status=final, finished_at=entry.timestamp))
            counted += 1
        if result.cursor:
            after[status] = result.cursor
    totals.settle(now=now, settle_s=pushgateway.settle_s)
    pushed = pushgateway.push_totals(totals, log=context.log)
    if pushed:  # a new series' settle time starts once Prometheus can have seen it at 0
        totals.mark_pushed(now=now)
    context.update_cursor(json.dumps({"after": after, "totals": totals.to_json()}, sort_keys=True))
    return dg.SkipReason(
        f"counted {counted} new runs ({totals.runs_counted} in all); "
        + ("pushed" if pushed else "push failed, will push again next tick")
    )
