"""Liveness, readiness and the Prometheus exposition."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from catalyst_search.api.deps import DispatcherDep, MetricsDep, RetrieverDep, SettingsDep
from catalyst_search.api.models.health import Health, Readiness
from catalyst_search.ingest_requests.dispatch import QUEUE_ERRORS
from catalyst_search.ingest_requests.health import dispatch_degraded, heartbeat_age_s

router = APIRouter(tags=["health"])
log = logging.getLogger("catalyst_search")


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    return Health()


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def readyz(
    retriever: RetrieverDep, dispatcher: DispatcherDep, settings: SettingsDep
) -> JSONResponse:
    """503 until an index version is loaded; says when ingestion dispatch is degraded."""
    version = retriever.reader.refresh()
    degraded = dispatch_degraded(dispatcher.jobs, stale_s=settings.dispatch_stale_s)
    body = Readiness(
        ready=version is not None,
        index_version=version,
        detail="serving" if version else "no index version loaded; ingest documents",
        ingestion_dispatch="degraded" if degraded else "ok",
        ingestion_detail=degraded,
    )
    return JSONResponse(status_code=200 if version else 503, content=body.model_dump())


@router.get("/metrics", include_in_schema=False, response_class=Response)
def metrics(retriever: RetrieverDep, dispatcher: DispatcherDep, metrics: MetricsDep) -> Response:
    """Prometheus exposition of this service's metrics; the gauges are read at scrape time."""
    try:
        metrics.serving(retriever.reader.refresh())
    except Exception as exc:  # an index that cannot be read must not take the metrics down too
        log.warning("metrics: could not refresh the index version: %s", type(exc).__name__)
    metrics.outbox_depth.set(dispatcher.depth())
    try:
        metrics.queue_depth.set(dispatcher.queue.depth())
        metrics.queue_oldest_age.set(dispatcher.queue.oldest_age_s())
        metrics.heartbeat_age.set(heartbeat_age_s(dispatcher.jobs))
        metrics.queue_up.set(1)
    except QUEUE_ERRORS:  # the queue is down: its gauges keep their last values, and say so
        metrics.queue_up.set(0)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
