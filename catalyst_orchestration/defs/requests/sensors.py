"""Queued ingest requests become runs (how runs that end badly mark their job: run_ends.py).

The sensor acknowledges a message only once every run it requested for it is recorded in the
instance; until then the message stays claimed (and is redelivered after its visibility
timeout). A redelivered message asks for the same run keys, so it never launches a second run.
A message whose handling raises is left for redelivery while the others of the tick go on;
after ``MAX_DELIVERIES`` its job's sources are marked failed with the reason and it is
acknowledged.
"""

import json
import logging
from dataclasses import dataclass, field

import dagster as dg

from catalyst_orchestration.defs.jobs import ingest_job
from catalyst_orchestration.defs.partitions import register_source
from catalyst_orchestration.defs.resources import (
    IngestQueueResource,
    JobStoreResource,
    StateStoreResource,
)
from catalyst_search.ingest_requests.contract import (
    JOB_TAG,
    SENSOR_NAME,
    TENANT_TAG,
    IngestMessage,
    run_key,
)
from catalyst_search.ingest_requests.dispatch import record_job
from catalyst_search.ingest_requests.sources import InvalidSource, check_source
from catalyst_search.outbound import ResolutionUnavailable

MAX_MESSAGES_PER_TICK = 20
VISIBILITY_S = 300.0
#: Deliveries of a message whose handling keeps raising before its job is failed.
MAX_DELIVERIES = 5


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


@dataclass
class _Found:
    keys: list[str] = field(default_factory=list)  # the message's run keys, to wait for
    run_requests: list[dg.RunRequest] = field(default_factory=list)  # the ones to request now


def _requests(
    context: dg.SensorEvaluationContext,
    message: IngestMessage,
    jobs: JobStoreResource,
    state: StateStoreResource,
    requested: set[str],
) -> _Found:
    """The runs one queued message asks for (none when its job was cancelled meanwhile)."""
    found = _Found()
    job = jobs.jobs.get(message.job_id)
    if job is not None and job.cancel_requested_at is not None:
        context.log.info(f"job {message.job_id}: cancelled before its runs were requested")
        return found  # acknowledged next tick: nothing to wait for
    rules = state.source_rules(message.tenant_id)
    for n, uri in enumerate(message.sources):
        try:  # the API checked this; a message put on the queue by other means may not be
            check_source(uri, rules=rules, where="source")
        except InvalidSource as exc:
            context.log.warning(f"job {message.job_id}: {exc}")
            jobs.jobs.run_finished(message.job_id, uri, status="failed", error=str(exc))
            continue
        except ResolutionUnavailable as exc:  # not the source's fault: its run checks it again
            context.log.info(f"job {message.job_id}: {exc}; requesting its run all the same")
        source = register_source(
            context.instance, state.store, tenant_id=message.tenant_id, uri=uri
        )
        key = run_key(message.job_id, n)
        found.keys.append(key)
        if key in requested or runs_recorded(context.instance, [key]):
            continue  # a repeated message (redelivery, outbox replay): its run exists
        requested.add(key)
        found.run_requests.append(
            dg.RunRequest(
                run_key=key,
                partition_key=source.partition_key,
                tags={JOB_TAG: message.job_id, TENANT_TAG: message.tenant_id},
            )
        )
    return found


def _give_up(message: IngestMessage, jobs: JobStoreResource, exc: Exception) -> None:
    """Mark the job's sources still waiting for a run failed, with why (none when the job was
    cancelled meanwhile; best effort: the job store may be what fails)."""
    error = f"its runs could not be requested after {MAX_DELIVERIES} tries: {exc!r}"
    try:
        record_job(jobs.jobs, message)
        job = jobs.jobs.get(message.job_id)
        if job is None or job.cancel_requested_at is not None:
            return
        for run in job.runs:  # not one an earlier delivery requested or already settled
            if run.status == "queued" and run.run_id is None:
                jobs.jobs.run_finished(message.job_id, run.source, status="failed", error=error)
    except Exception:  # the job store is down too: the message is dropped all the same
        logging.getLogger("catalyst_orchestration").exception(
            "job %s: could not record its failure", message.job_id
        )


@dg.sensor(
    name=SENSOR_NAME,
    job=ingest_job,
    minimum_interval_seconds=2,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Turns queued ingest requests (POST /ingest/bulk, catalystctl ingest) into runs.",
)
def ingest_requests(
    context: dg.SensorEvaluationContext,
    queue: IngestQueueResource,
    jobs: JobStoreResource,
    state: StateStoreResource,
) -> dg.SensorResult:
    cursor = json.loads(context.cursor) if context.cursor else {}
    pending: dict[str, list[str]] = cursor.get("pending", {})
    jobs.jobs.beat(SENSOR_NAME)

    recorded = [mid for mid, keys in pending.items() if runs_recorded(context.instance, keys)]
    queue.queue.ack(recorded)
    for message_id in recorded:
        del pending[message_id]

    run_requests: list[dg.RunRequest] = []
    requested: set[str] = set()
    for delivery in queue.queue.claim(limit=MAX_MESSAGES_PER_TICK, visibility_s=VISIBILITY_S):
        try:
            found = _requests(context, delivery.message, jobs, state, requested)
        except Exception as exc:  # this message only: the others of the tick go on
            context.log.exception(
                f"job {delivery.message.job_id}: could not request its runs "
                f"(delivery {delivery.deliveries} of {MAX_DELIVERIES})"
            )
            if delivery.deliveries >= MAX_DELIVERIES:
                _give_up(delivery.message, jobs, exc)
                pending[delivery.message_id] = []  # acknowledged next tick
            continue  # not pending: delivered again after its visibility timeout
        run_requests += found.run_requests
        pending[delivery.message_id] = found.keys
    return dg.SensorResult(
        run_requests=run_requests,
        cursor=json.dumps({"pending": pending}, sort_keys=True),
        skip_reason=None if run_requests or recorded else "no queued ingest requests",
    )
