"""Sensors over watched sources: a folder or an S3 prefix whose listing changed (an object
added, changed or removed) gets a sync run. The cursor keeps each watch's last listing digest;
a tick requests at most ``CATALYST_WATCH_RUNS_PER_TICK`` runs and starts where the last one
stopped, so many watches take turns. Web pages have no cheap change signal: the nightly
``resync_sources`` schedule re-syncs them."""

import json
from collections.abc import Callable

import dagster as dg

from catalyst_orchestration.defs.acquisition.watching import (
    IndexBusy,
    WatchRemoved,
    allowed,
    folder_digest,
    launchable,
    s3_digest,
    sync_request,
)
from catalyst_orchestration.defs.jobs import ingest_job
from catalyst_orchestration.defs.resources import JobStoreResource, S3Resource, StateStoreResource
from catalyst_orchestration.defs.resources.common import _settings
from catalyst_orchestration.lib.sources.s3 import list_objects
from catalyst_search.ingest_requests.watches import Watch


def _tick(
    context: dg.SensorEvaluationContext,
    state: StateStoreResource,
    jobs: JobStoreResource,
    kind: str,
    digest_of: Callable[[Watch], str],
) -> dg.SensorResult:
    settings = _settings()
    cursor = json.loads(context.cursor) if context.cursor else {}
    digests: dict[str, str] = cursor.get("digests", {})
    syncs: dict[str, int] = cursor.get("syncs", {})  # runs requested per watch: run key part
    watches = [w for w in jobs.jobs.watches.listed() if w.kind == kind]
    watches = allowed(watches, settings, context.log)
    start = cursor.get("next", 0) % max(len(watches), 1)
    requests: list[dg.RunRequest] = []
    looked = 0
    for watch in watches[start:] + watches[:start]:
        if len(requests) >= settings.watch_runs_per_tick:
            break
        looked += 1
        try:
            digest = digest_of(watch)
            if digests.get(watch.watch_id) == digest:
                continue
            n = syncs.get(watch.watch_id, 0) + 1  # A -> B -> A is a change too: a new key
            request = sync_request(
                context.instance,
                state.store,
                jobs.jobs,
                watch,
                run_key=f"watch:{watch.watch_id}:{n}:{digest}",
                origin=f"sensor:{'watched_s3_sources' if kind == 's3' else 'watched_folders'}",
            )
        except (WatchRemoved, IndexBusy) as exc:  # not recorded: looked at again next tick
            context.log.info(f"{exc}; looked at again next tick")
            continue
        except Exception as exc:  # one unreadable source never stops the others
            context.log.warning(f"watched source {watch.uri} could not be synced: {exc}")
            continue
        digests[watch.watch_id], syncs[watch.watch_id] = digest, n
        requests.append(request)
    live = {w.watch_id for w in watches}
    cursor = {
        "digests": {k: v for k, v in digests.items() if k in live},
        "syncs": {k: v for k, v in syncs.items() if k in live},
        "next": start + looked,
    }
    requests = launchable(context.instance, jobs.jobs, requests, context.log)
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps(cursor, sort_keys=True),
        skip_reason=None if requests else f"no watched {kind} source changed",
    )


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Syncs watched S3 prefixes (catalystctl sources add s3://...) whose objects "
    "were added, changed (ETag) or deleted.",
)
def watched_s3_sources(
    context: dg.SensorEvaluationContext,
    state: StateStoreResource,
    jobs: JobStoreResource,
    s3: S3Resource,
) -> dg.SensorResult:
    client = s3.get_client()
    return _tick(context, state, jobs, "s3", lambda w: s3_digest(list_objects(client, w.uri)))


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Syncs watched folders whose files were added, changed or deleted.",
)
def watched_folders(
    context: dg.SensorEvaluationContext, state: StateStoreResource, jobs: JobStoreResource
) -> dg.SensorResult:
    return _tick(context, state, jobs, "folder", lambda w: folder_digest(w.uri))
