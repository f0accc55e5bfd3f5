"""Watched sources: a tenant's folders, S3 prefixes and web pages kept in sync by the code
location (sensors start a sync when objects change; a nightly schedule re-syncs them all)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response

from catalyst_search.api.deps import DispatcherDep, IngestCaller, JobsCaller, SettingsDep
from catalyst_search.api.models.errors import errors
from catalyst_search.api.models.sources import WatchList, WatchRequest, WatchView
from catalyst_search.ingest_requests.sources import InvalidSource, check_source
from catalyst_search.ingest_requests.watches import TooManyWatches, Watch

router = APIRouter(prefix="/sources", tags=["sources"])
WatchId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]


def _view(watch: Watch) -> WatchView:
    return WatchView(
        watch_id=watch.watch_id, uri=watch.uri, kind=watch.kind, created_at=watch.created_at
    )


@router.post(
    "", status_code=201, response_model=WatchView, responses=errors(401, 403, 409, 422, 429, 503)
)
def watch_source(
    body: WatchRequest, dispatcher: DispatcherDep, settings: SettingsDep, caller: IngestCaller
) -> WatchView:
    """Keep a source in sync for the caller's tenant (idempotent: the same source is one
    watch). It is checked like an ingest source: under the tenant's roots, public web only;
    503 with ``Retry-After`` when a web source's name cannot be resolved now."""
    try:
        uri = check_source(body.uri, rules=settings.source_rules(caller.tenant_id), where="uri")
        watch = dispatcher.jobs.watches.add(caller.tenant_id, uri)
    except InvalidSource as exc:
        raise HTTPException(422, str(exc)) from exc
    except TooManyWatches as exc:
        raise HTTPException(409, str(exc)) from exc
    return _view(watch)


@router.get("", response_model=WatchList, responses=errors(401, 403))
def list_sources(dispatcher: DispatcherDep, caller: JobsCaller) -> WatchList:
    """The caller's tenant's watched sources, oldest first."""
    return WatchList(sources=[_view(w) for w in dispatcher.jobs.watches.listed(caller.tenant_id)])


@router.delete("/{watch_id}", status_code=204, responses=errors(401, 403, 404, 429))
def unwatch_source(watch_id: WatchId, dispatcher: DispatcherDep, caller: IngestCaller) -> Response:
    """Stop watching; what was ingested stays searchable (delete it at its source to drop it).
    Another tenant's watch answers 404, like an unknown one."""
    if not dispatcher.jobs.watches.remove(caller.tenant_id, watch_id):
        raise HTTPException(404, f"no watched source {watch_id}")
    return Response(status_code=204)
