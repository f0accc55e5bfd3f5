"""``POST /search``: hybrid search within the caller's tenant, bounded in time."""

from __future__ import annotations

import asyncio
import time
import uuid

from fastapi import APIRouter, HTTPException

from catalyst_search.api.deps import SearchCaller, SearchContextDep
from catalyst_search.api.models.errors import errors
from catalyst_search.api.models.search import SearchRequest, SearchResponse, SearchResult
from catalyst_search.feedback.records import LoggedResult, SearchRecord
from catalyst_search.retrieval.filters import parse_filters
from catalyst_search.retrieval.results import RetrievalResult

router = APIRouter(tags=["search"])

#: Payload fields that are part of the result itself rather than its metadata.
_NOT_METADATA = {"tenant_id", "text", "document_id", "icd_hierarchy", "chunk_kind"}


@router.post(
    "/search",
    response_model=SearchResponse,
    responses=errors(401, 403, 413, 422, 429, 503, 504),
)
async def search(
    body: SearchRequest, caller: SearchCaller, ctx: SearchContextDep
) -> SearchResponse:
    """Hybrid search within the caller's tenant. ``debug: true`` needs the ``debug`` role.

    Encoding and the index block, so the search runs in one of the slots' threads; past
    ``CATALYST_SEARCH_TIMEOUT_S`` the caller gets 504 and the thread's result is dropped.
    With ``CATALYST_SEARCH_CONCURRENCY`` searches in flight (a thread counts until it ends),
    another is refused at once: 503 with ``Retry-After`` (``api/slots.py``).
    """
    if body.debug and not caller.has("debug"):
        raise HTTPException(403, "debug: true needs the debug role")
    query_id = uuid.uuid4().hex
    filters = parse_filters(body.filters)
    slot = ctx.slots.take(caller.tenant_id)
    if slot is None:
        ctx.metrics.searches_shed.inc()
        raise HTTPException(
            503,
            f"searches are in flight on this replica up to its bound ({ctx.slots.size}, at most "
            f"{ctx.slots.per_tenant} a tenant: CATALYST_SEARCH_CONCURRENCY); retry shortly",
            headers={"Retry-After": "1"},
        )
    handed = time.perf_counter()

    def run() -> RetrievalResult:
        queued = time.perf_counter() - handed  # waiting for a worker thread to take it
        if not slot.start():  # the caller stopped waiting before a thread took it: skip it
            raise TimeoutError("the caller stopped waiting for this search")
        try:
            result = ctx.retriever.search(
                tenant_id=caller.tenant_id,
                query=body.query,
                top_k=body.top_k,
                filters=filters,
                retrieval=body.retrieval,
                mode=body.mode,
                track=body.track,
                debug=body.debug,
                query_id=query_id,
            )
        finally:
            slot.finish()
        result.timings_ms["queue"] = round(queued * 1000, 3)
        return result

    deadline = asyncio.timeout(ctx.settings.search_timeout_s)
    try:
        async with deadline:
            result = await asyncio.get_running_loop().run_in_executor(ctx.slots.threads, run)
    except TimeoutError as exc:
        if not deadline.expired():  # the index gave up inside the search (a silent helper)
            raise HTTPException(
                503, f"the index did not answer: {exc}; retry shortly", headers={"Retry-After": "1"}
            ) from None
        ctx.metrics.search_timeouts.inc()
        raise HTTPException(
            504, f"the search ran past {ctx.settings.search_timeout_s:g}s; try a smaller top_k"
        ) from None
    finally:
        slot.abandon()  # frees the slot only if the thread never started
    ctx.search_log.record(
        SearchRecord(
            query_id=query_id,
            tenant_id=caller.tenant_id,
            query=body.query,
            filters=body.filters,
            mode=result.mode,
            track=result.track,
            results=[
                LoggedResult(r.hit.id, str(r.hit.payload.get("document_id", "")), n)
                for n, r in enumerate(result.hits, start=1)
            ],
            at=time.time(),
        )
    )
    return SearchResponse(
        query_id=query_id,
        boost_version=result.boost_version,
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
