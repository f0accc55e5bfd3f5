"""When feedback is drained and tuned: every night, and sooner once enough has arrived.

- ``drain_feedback`` materializes one day of ``feedback_events``; ``tune_relevance`` computes,
  checks and publishes boosts (``relevance_boosts``, its blocking check, ``live_boosts``).
- A nightly schedule drains yesterday and today (UTC), and every day before them that still has
  pending feedback (nights Dagster missed), oldest first; another tunes an hour later.
- ``feedback_arrivals`` drains the days with pending feedback (oldest first) once
  ``CATALYST_FEEDBACK_TUNE_EVENTS`` events wait, and requests a tuning run once those drain
  runs have finished. All are visible, and can be switched off, in the Dagster UI.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import dagster as dg

from catalyst_orchestration.defs.feedback.events import feedback_days, feedback_events
from catalyst_orchestration.defs.feedback.tuning import live_boosts, relevance_boosts
from catalyst_orchestration.defs.resources import FeedbackStoreResource
from catalyst_search.settings import get_settings

drain_feedback = dg.define_asset_job(
    "drain_feedback",
    selection=[feedback_events],
    partitions_def=feedback_days,
    executor_def=dg.in_process_executor,
)
tune_relevance = dg.define_asset_job(
    "tune_relevance",
    selection=dg.AssetSelection.assets(relevance_boosts, live_boosts),
    executor_def=dg.in_process_executor,  # one process: the check loads the encoder once
    description="Compute boosts from all drained feedback, check them, publish if they pass.",
)


#: days one tick or night requests drains for (the rest follow on the next)
MAX_DAYS_PER_TICK = 31


@dg.schedule(job=drain_feedback, cron_schedule="0 2 * * *", name="nightly_feedback_drain")
def nightly_drain(
    context: dg.ScheduleEvaluationContext, feedback: FeedbackStoreResource
) -> list[dg.RunRequest]:
    """Yesterday (its last hours) and today so far, always; and the days before them from the
    oldest with feedback still pending, oldest first, up to ``MAX_DAYS_PER_TICK`` in all."""
    at = context.scheduled_execution_time.timestamp()
    recent = [_day(at - 86400), _day(at)]
    oldest = feedback.store.oldest_pending()
    earlier = _days(_day(oldest), _day(at - 2 * 86400)) if oldest is not None else []
    earlier = earlier[: MAX_DAYS_PER_TICK - len(recent)]
    return [
        dg.RunRequest(run_key=f"nightly:{day}:{_day(at)}", partition_key=day)
        for day in [*earlier, *recent]
    ]


nightly_tuning = dg.ScheduleDefinition(
    name="nightly_feedback_tuning", job=tune_relevance, cron_schedule="0 3 * * *"
)


def _day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def _days(first: str, last: str) -> list[str]:
    """The days from ``first`` (or the partitions' first, if later) to ``last``, in order."""
    first = max(first, feedback_days.get_first_partition_key() or first)
    if first > last:
        return []
    return list(feedback_days.get_partition_keys_in_range(dg.PartitionKeyRange(first, last)))


@dg.sensor(
    name="feedback_arrivals",
    jobs=[drain_feedback, tune_relevance],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Drains the days with pending feedback once CATALYST_FEEDBACK_TUNE_EVENTS "
    "events wait, then tunes once they are drained.",
)
def feedback_arrivals(
    context: dg.SensorEvaluationContext, feedback: FeedbackStoreResource
) -> dg.SensorResult:
    state = json.loads(context.cursor) if context.cursor else {}
    requests: list[dg.RunRequest] = []
    draining: list[str] = state.get("draining", [])
    pending = feedback.store.pending_count()
    if draining:
        runs = [
            context.instance.get_runs(filters=dg.RunsFilter(tags={"dagster/run_key": key}))
            for key in draining
        ]
        if all(found and found[0].is_finished for found in runs):
            requests.append(dg.RunRequest(run_key=f"tune:{draining[0]}", job_name="tune_relevance"))
            draining = []
    elif pending >= get_settings().feedback_tune_events:
        oldest = feedback.store.oldest_pending() or 0.0
        days = _days(_day(oldest), feedback_days.get_last_partition_key() or "")[:MAX_DAYS_PER_TICK]
        stamp = f"{time.time():.0f}:{oldest}"
        draining = [f"drain:{day}:{stamp}" for day in days]
        requests += [
            dg.RunRequest(run_key=key, job_name="drain_feedback", partition_key=day)
            for key, day in zip(draining, days, strict=True)
        ]
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps({"draining": draining}),
        skip_reason=None if requests else f"{pending} feedback events pending",
    )
