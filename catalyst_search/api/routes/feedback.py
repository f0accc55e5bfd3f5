"""Feedback on search results, its analytics, and the tenant's boost versions."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request

from catalyst_search.api.deps import (
    AdminCaller,
    MetricsDep,
    ReaderCaller,
    SearchCaller,
    SearchLogDep,
)
from catalyst_search.api.models.errors import errors
from catalyst_search.api.models.feedback import (
    Analytics,
    BoostVersionView,
    FeedbackAccepted,
    FeedbackRequest,
)
from catalyst_search.feedback.analytics import MAX_BUCKETS, Bucket, analytics
from catalyst_search.feedback.records import FeedbackEvent
from catalyst_search.feedback.store import FeedbackStore

router = APIRouter(prefix="/feedback", tags=["feedback"])
SPAN_S = {"hour": 3600, "day": 86400, "week": 7 * 86400}
MAX_SPAN_S = 400 * 86400  # the counters are kept this long


def _utc(moment: datetime) -> float:
    """A time without an offset is UTC (the buckets are), never the server's local time."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _store(request: Request) -> FeedbackStore:
    store: FeedbackStore = request.app.state.feedback
    return store


@router.post("", response_model=FeedbackAccepted, responses=errors(401, 403, 404, 413, 422, 429))
def submit(
    body: FeedbackRequest,
    request: Request,
    caller: SearchCaller,
    search_log: SearchLogDep,
    metrics: MetricsDep,
) -> FeedbackAccepted:
    """Feedback on one result of a search (named by its ``query_id``). The query, tenant and
    rank come from the logged search; the same feedback twice is recorded once."""
    record = search_log.find(caller.tenant_id, body.query_id)
    if record is None:
        raise HTTPException(404, f"no search {body.query_id}")
    result = record.find(chunk_id=body.chunk_id, document_id=body.document_id)
    if result is None or (body.document_id and result.document_id != body.document_id):
        target = body.chunk_id or body.document_id
        raise HTTPException(422, f"{target} is not a result of search {body.query_id}")
    target = body.chunk_id or result.document_id
    event = FeedbackEvent(
        event_id=FeedbackEvent.make_id(body.query_id, target, body.event),
        query_id=body.query_id,
        tenant_id=caller.tenant_id,
        query=record.query,
        document_id=result.document_id,
        chunk_id=result.chunk_id if body.chunk_id else None,
        rank=result.rank,
        rating=body.rating,
        kind=body.event,
        comment=body.comment,
        at=time.time(),
    )
    recorded = _store(request).add_feedback(event)
    if recorded:
        metrics.feedback.labels(kind=body.event, rating=str(body.rating)).inc()
    return FeedbackAccepted(event_id=event.event_id, recorded=recorded, rank=result.rank)


@router.get("/analytics", response_model=Analytics, responses=errors(401, 403, 422, 429))
def feedback_analytics(
    request: Request,
    caller: SearchCaller,  # rate-limited: it adds up to 400 days of counters
    search_log: SearchLogDep,
    start: Annotated[datetime | None, Query(alias="from", description="Default: 7 days ago.")]
    = None,
    end: Annotated[datetime | None, Query(alias="to", description="Default: now.")] = None,
    bucket: Bucket = "day",
) -> Analytics:  # fmt: skip
    """Per bucket: searches, feedback, positive rate, click-through and zero-result rates; the
    top and worst-rated queries; the documents the live boosts move most."""
    until = _utc(end) if end else time.time()
    since = _utc(start) if start else until - 7 * 86400
    if since >= until:
        raise HTTPException(422, "from must be before to")
    if (until - since) / SPAN_S[bucket] > MAX_BUCKETS or until - since > MAX_SPAN_S:
        raise HTTPException(
            422, f"at most {MAX_BUCKETS} buckets and 400 days: widen the bucket or narrow"
        )
    search_log.flush_now()  # this replica's searches of the last moment count too
    report = analytics(_store(request), caller.tenant_id, since, until, bucket)
    return Analytics.model_validate(report)


@router.get("/boosts", response_model=list[BoostVersionView], responses=errors(401, 403))
def boost_versions(request: Request, caller: ReaderCaller) -> list[BoostVersionView]:
    """The tenant's boost versions, newest first; ``live`` marks the one in force."""
    versions = _store(request).boost_versions(caller.tenant_id)
    return [BoostVersionView.model_validate(v.__dict__) for v in versions]


@router.post(
    "/boosts/{version}/activate",
    response_model=BoostVersionView,
    responses=errors(401, 403, 404, 422),
)
def activate(
    version: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")],
    request: Request,
    caller: AdminCaller,
) -> BoostVersionView:
    """Put an earlier (or any) boost version of the caller's tenant in force: a rollback."""
    store = _store(request)
    if not store.activate(caller.tenant_id, version):
        raise HTTPException(404, f"no boost version {version}")
    found = next((v for v in store.boost_versions(caller.tenant_id) if v.version == version), None)
    if found is None:  # pruned by a tuning run between the two calls
        raise HTTPException(404, f"no boost version {version}")
    return BoostVersionView.model_validate(found.__dict__)
