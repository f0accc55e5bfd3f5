"""When feedback is drained and tuned: every night, and sooner once enough has arrived.

- ``drain_feedback`` materializes one day of ``feedback_events``; ``tune_relevance`` computes,
  checks and publishes boosts (``relevance_boosts``, its blocking check, ``live_boosts``).
- A nightly schedule drains yesterday; another tunes an hour later.
- ``feedback_arrivals`` drains every day with pending feedback once
  ``CATALYST_FEEDBACK_TUNE_EVENTS`` events wait, then requests a tuning run once they are all
  drained. All are visible, and can be switched off, in the Dagster UI.
"""

from __future__ import annotations

import json
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
nightly_drain = dg.build_schedule_from_partitioned_job(
    drain_feedback, hour_of_day=2, name="nightly_feedback_drain"
)
nightly_tuning = dg.ScheduleDefinition(
    name="nightly_feedback_tuning", job=tune_relevance, cron_schedule="0 3 * * *"
)
MAX_DAYS_PER_TICK = 31


def _day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


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
    pending = feedback.store.pending_count()
    requests: list[dg.RunRequest] = []
    if pending >= get_settings().feedback_tune_events:
        oldest = feedback.store.oldest_pending() or 0.0
        days = feedback_days.get_partition_keys_in_range(
            dg.PartitionKeyRange(_day(oldest), feedback_days.get_last_partition_key() or "")
        )[-MAX_DAYS_PER_TICK:]
        requests += [
            dg.RunRequest(run_key=f"drain:{day}:{oldest}", job_name="drain_feedback",
                          partition_key=day)
            for day in days
        ]  # fmt: skip
        state["tune_after"] = oldest
    elif pending == 0 and state.get("tune_after") is not None:
        requests.append(
            dg.RunRequest(run_key=f"tune:{state['tune_after']}", job_name="tune_relevance")
        )
        state["tune_after"] = None
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps(state),
        skip_reason=None if requests else f"{pending} feedback events pending",
    )
