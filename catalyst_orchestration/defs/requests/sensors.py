"""Queued ingest requests become runs; failed runs mark their job.

The sensor acknowledges a message only once every run it requested for it is recorded in the
instance; until then the message stays claimed (and is redelivered after its visibility
timeout). A redelivered message asks for the same run keys, so it never launches a second run.
"""

import json

import dagster as dg

from catalyst_orchestration.defs.jobs import ingest_job
from catalyst_orchestration.defs.partitions import ingest_batches
from catalyst_orchestration.defs.requests.tracking import JOB_TAG, SOURCE_TAG
from catalyst_orchestration.defs.resources import CatalystResource
from catalyst_search.stores.dispatch import SENSOR_NAME  # shared with /readyz

MAX_MESSAGES_PER_TICK = 20
VISIBILITY_S = 300.0


def runs_recorded(instance: dg.DagsterInstance, run_keys: list[str]) -> bool:
    for key in run_keys:
        runs = instance.get_runs(
            filters=dg.RunsFilter(
                tags={"dagster/run_key": key, "dagster/sensor_name": SENSOR_NAME}
            ),
            limit=1,
        )
        if not runs:
            return False
    return True


@dg.sensor(
    name=SENSOR_NAME,
    job=ingest_job,
    minimum_interval_seconds=2,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Turns queued ingest requests (POST /ingest/bulk, catalystctl ingest) into runs.",
)
def ingest_requests(
    context: dg.SensorEvaluationContext, catalyst: CatalystResource
) -> dg.SensorResult:
    cursor = json.loads(context.cursor) if context.cursor else {}
    pending: dict[str, list[str]] = cursor.get("pending", {})
    queue, jobs, state = catalyst.queue(), catalyst.jobs(), catalyst.state()
    jobs.beat(SENSOR_NAME)

    recorded = [mid for mid, keys in pending.items() if runs_recorded(context.instance, keys)]
    queue.ack(recorded)
    for message_id in recorded:
        del pending[message_id]

    run_requests: list[dg.RunRequest] = []
    requested: set[str] = set()
    partitions: list[str] = []
    for delivery in queue.claim(limit=MAX_MESSAGES_PER_TICK, visibility_s=VISIBILITY_S):
        message = delivery.message
        keys = []
        for n, uri in enumerate(message.sources):
            source = state.register_source(message.tenant_id, uri)
            key = f"{message.job_id}:{n}"
            keys.append(key)
            if key in requested or runs_recorded(context.instance, [key]):
                continue  # a repeated message (redelivery, outbox replay): its run exists
            requested.add(key)
            partitions.append(source.partition_key)
            run_requests.append(
                dg.RunRequest(
                    run_key=key,
                    partition_key=source.partition_key,
                    tags={JOB_TAG: message.job_id, SOURCE_TAG: uri},
                )
            )
        pending[delivery.message_id] = keys
    return dg.SensorResult(
        run_requests=run_requests,
        cursor=json.dumps({"pending": pending}, sort_keys=True),
        dynamic_partitions_requests=(
            [ingest_batches.build_add_request(sorted(set(partitions)))] if partitions else []
        ),
        skip_reason=None if run_requests or recorded else "no queued ingest requests",
    )


@dg.run_failure_sensor(
    name="ingest_job_failures",
    monitored_jobs=[ingest_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks the ingest job of a failed run as failed (a retried run sets it back).",
)
def ingest_job_failures(context: dg.RunFailureSensorContext, catalyst: CatalystResource) -> None:
    tags = context.dagster_run.tags
    if JOB_TAG in tags and SOURCE_TAG in tags:
        catalyst.jobs().run_finished(
            tags[JOB_TAG],
            tags[SOURCE_TAG],
            status="failed",
            error=context.failure_event.message or "run failed",
        )
