"""Routes: search, liveness and readiness."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from catalyst_search.api.deps import RetrieverDep, SettingsDep
from catalyst_search.api.models import Readiness, SearchRequest, SearchResponse, SearchResult
from catalyst_search.retrieval.filters import parse_filters

router = APIRouter(tags=["search"])

#: Payload fields that are part of the result itself rather than its metadata.
_NOT_METADATA = {"tenant_id", "text", "document_id"}


@router.post("/search", response_model=SearchResponse)
def search(body: SearchRequest, retriever: RetrieverDep, settings: SettingsDep) -> SearchResponse:
    """Hybrid search within the caller's tenant. A plain ``def``: encoding and Qdrant block."""
    result = retriever.search(
        tenant_id=settings.default_tenant,
        query=body.query,
        top_k=body.top_k,
        filters=parse_filters(body.filters),
        retrieval=body.retrieval,
    )
    return SearchResponse(
        query_id=uuid.uuid4().hex,
        index_version=result.index_version,
        timings_ms=result.timings_ms,
        results=[
            SearchResult(
                document_id=str(hit.payload.get("document_id", "")),
                chunk_id=hit.id,
                score=hit.score,
                text=str(hit.payload.get("text", "")),
                metadata={k: v for k, v in hit.payload.items() if k not in _NOT_METADATA},
            )
            for hit in result.hits
        ],
    )


@router.get("/healthz", tags=["health"])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", tags=["health"], response_model=Readiness)
def readyz(retriever: RetrieverDep) -> JSONResponse:
    version = retriever.reader.version
    if version is None:
        body = Readiness(
            ready=False, index_version=None, detail="no index version loaded; ingest documents"
        )
        return JSONResponse(status_code=503, content=body.model_dump())
    body = Readiness(ready=True, index_version=version, detail="serving")
    return JSONResponse(status_code=200, content=body.model_dump())
