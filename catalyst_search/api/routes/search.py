"""``POST /search``: hybrid search within the caller's tenant."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from catalyst_search.api.deps import RetrieverDep, TenantDep
from catalyst_search.api.models.search import SearchRequest, SearchResponse, SearchResult
from catalyst_search.retrieval.filters import parse_filters

router = APIRouter(tags=["search"])

#: Payload fields that are part of the result itself rather than its metadata.
_NOT_METADATA = {"tenant_id", "text", "document_id", "icd_hierarchy"}


@router.post("/search", response_model=SearchResponse)
def search(body: SearchRequest, retriever: RetrieverDep, tenant: TenantDep) -> SearchResponse:
    """Hybrid search within the caller's tenant. A plain ``def``: encoding and Qdrant block."""
    query_id = uuid.uuid4().hex
    result = retriever.search(
        tenant_id=tenant,
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
