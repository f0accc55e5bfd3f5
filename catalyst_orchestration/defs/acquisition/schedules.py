"""The nightly re-sync: every watched source (web pages and crawls included) gets a sync run,
a backfill over the source partitions. A re-index of everything after a chunking or embedding
change is a backfill of the ``ingest`` job over all partitions (docs/sources.md): the content
fingerprint includes that configuration, so every document is embedded again."""

import dagster as dg

from catalyst_orchestration.defs.acquisition.watching import (
    IndexBusy,
    WatchRemoved,
    allowed,
    launchable,
    sync_request,
)
from catalyst_orchestration.defs.jobs import ingest_job
from catalyst_orchestration.defs.resources import JobStoreResource, StateStoreResource
from catalyst_orchestration.defs.resources.common import _settings


@dg.schedule(
    job=ingest_job,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Re-syncs every watched source at 03:00 UTC (unchanged documents are not "
    "embedded again; deleted ones leave the index).",
)
def resync_sources(
    context: dg.ScheduleEvaluationContext, state: StateStoreResource, jobs: JobStoreResource
) -> list[dg.RunRequest] | dg.SkipReason:
    listed = jobs.jobs.watches.listed()
    watches = allowed(listed, _settings(), context.log)
    day = context.scheduled_execution_time.strftime("%Y-%m-%d")
    requests = []
    for watch in watches:  # one watch that cannot be requested costs the others nothing
        try:
            requests.append(
                sync_request(
                    context.instance,
                    state.store,
                    jobs.jobs,
                    watch,
                    run_key=f"resync:{watch.watch_id}:{day}",  # once a day, however often asked
                    origin="schedule:resync_sources",
                )
            )
        except WatchRemoved as exc:
            context.log.info(str(exc))
        except IndexBusy as exc:
            context.log.warning(f"no re-sync today: {exc}")
        except Exception:  # (its job record is made last: none is left waiting for a run)
            context.log.exception(f"watch {watch.watch_id} ({watch.uri}): no re-sync today")
    requests = launchable(context.instance, jobs.jobs, requests, context.log)
    if not requests:  # (those the tenants' rules no longer allow count: they were skipped)
        return dg.SkipReason(
            f"none of the {len(listed)} watched sources could be re-synced: see the log"
            if listed
            else "no watched sources to re-sync"
        )
    return requests
