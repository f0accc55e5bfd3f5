"""Routes: search, liveness and readiness."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from catalyst_search.api.deps import RetrieverDep, SettingsDep
from catalyst_search.api.models import Readiness, SearchRequest, SearchResponse, SearchResult
from catalyst_search.retrieval.filters import parse_filters
from catalyst_search.stores.dispatch import dispatch_degraded
from catalyst_search.stores.outbox import QUEUE_ERRORS

router = APIRouter(tags=["search"])

#: Payload fields that are part of the result itself rather than its metadata.
_NOT_METADATA = {"tenant_id", "text", "document_id", "icd_hierarchy"}


@router.post("/search", response_model=SearchResponse)
def search(body: SearchRequest, retriever: RetrieverDep, settings: SettingsDep) -> SearchResponse:
    """Hybrid search within the caller's tenant. A plain ``def``: encoding and Qdrant block."""
    query_id = uuid.uuid4().hex
    result = retriever.search(
        tenant_id=settings.default_tenant,
        query=body.query,
        top_k=body.top_k,
        filters=parse_filters(body.filters),
        retrieval=body.retrieval,
        mode=body.mode,
        track=body.track,
        debug=body.debug,
        query_id=query_id,
    )
    return SearchResponse(
        query_id=query_id,
        index_version=result.index_version,
        mode=result.mode,
        track=result.track,
        rerank_tier=result.rerank_tier,
        degraded=result.degraded,
        degradation_reason=result.degradation_reason,
        timings_ms=result.timings_ms,
        debug=result.debug,
        results=[
            SearchResult(
                document_id=str(r.hit.payload.get("document_id", "")),
                chunk_id=r.hit.id,
                score=r.score,
                text=str(r.hit.payload.get("text", "")),
                metadata={k: v for k, v in r.hit.payload.items() if k not in _NOT_METADATA},
            )
            for r in result.hits
        ],
    )


@router.get("/metrics", tags=["health"], include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus exposition of this service's metrics."""
    dispatcher = request.app.state.dispatcher
    metrics = request.app.state.metrics
    metrics.outbox_depth.set(dispatcher.depth())
    try:
        metrics.queue_depth.set(dispatcher.queue.depth())
        metrics.queue_oldest_age.set(dispatcher.queue.oldest_age_s())
    except QUEUE_ERRORS:
        pass  # the queue is down: its gauges keep their last values, the outbox says the rest
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/healthz", tags=["health"])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", tags=["health"], response_model=Readiness)
def readyz(request: Request, retriever: RetrieverDep, settings: SettingsDep) -> JSONResponse:
    """503 until an index version is loaded; says when ingestion dispatch is degraded."""
    version = retriever.reader.version
    degraded = dispatch_degraded(
        request.app.state.dispatcher.jobs, stale_s=settings.dispatch_stale_s
    )
    body = Readiness(
        ready=version is not None,
        index_version=version,
        detail="serving" if version else "no index version loaded; ingest documents",
        ingestion_dispatch="degraded" if degraded else "ok",
        ingestion_detail=degraded,
    )
    return JSONResponse(status_code=200 if version else 503, content=body.model_dump())
