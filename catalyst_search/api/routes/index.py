"""What the caller's tenant has in the served index, and how the service searches it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from catalyst_search.api.deps import RetrieverDep, SettingsDep, caller
from catalyst_search.api.models.errors import errors
from catalyst_search.api.models.health import EncoderInfo, IndexInfo, RerankTier
from catalyst_search.auth.principal import Principal
from catalyst_search.index.filters import tenant_filter

router = APIRouter(tags=["index"])
IndexCaller = Annotated[Principal, Depends(caller("search", limit="search"))]  # (a count)


@router.get("/index", response_model=IndexInfo, responses=errors(401, 403, 429))
def index_info(retriever: RetrieverDep, settings: SettingsDep, who: IndexCaller) -> IndexInfo:
    """The served index version, the caller's chunks in it, the dense encoder that embeds the
    queries (the service does not start with one other than the index records), and the rerank
    tiers with their state (``closed`` is healthy; ``open`` is skipped until it resets;
    ``unavailable`` was switched off at start-up, with the reason)."""
    version = retriever.reader.refresh()
    chunks = retriever.reader.count(tenant_filter(who.tenant_id)) if version else None
    chain = retriever.chain
    tiers: list[RerankTier] = []
    if chain is not None:
        tiers = [
            RerankTier(
                tier=t.tier,
                hosted=t.hosted,
                state=chain.breakers[t.tier].state if t.tier in chain.breakers else "closed",
            )
            for t in chain.tiers
        ]
        tiers += [
            RerankTier(tier=name, hosted=True, state="unavailable", detail=why)
            for name, why in chain.unavailable.items()
        ]
    return IndexInfo(
        backend=settings.index_backend,
        collection=settings.collection,
        index_version=version,
        tenant_id=who.tenant_id,
        chunks=chunks,
        fusion=settings.fusion,
        encoder=EncoderInfo(
            model=retriever.dense.name,
            precision=retriever.dense.precision,
            runtime=retriever.dense.runtime,
        ),
        rerank_tiers=tiers,
    )
