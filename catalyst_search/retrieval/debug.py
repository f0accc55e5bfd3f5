"""The debug bundle: why each result ranked where it did, and what query ran."""

from __future__ import annotations

from typing import Any

from catalyst_search.index.contract import HybridQuery
from catalyst_search.retrieval.results import RankedHit, RetrievalResult


def debug_bundle(result: RetrievalResult, query: HybridQuery) -> dict[str, Any]:
    """Why each result ranked where it did, and what ran."""
    legs = [name for name, vec in (("dense", query.dense), ("sparse", query.sparse)) if vec]

    def leg(ranked: RankedHit, name: str) -> dict[str, Any]:
        n = legs.index(name) if name in legs else -1
        hit = ranked.hit
        if n < 0 or n >= len(hit.ranks):
            return {"rank": None, "score": None}
        return {"rank": hit.ranks[n], "score": hit.leg_scores[n]}

    return {
        "results": [
            {
                "chunk_id": r.hit.id,
                "document_id": r.hit.payload.get("document_id"),
                "dense": leg(r, "dense"),
                "sparse": leg(r, "sparse"),
                "fused_score": r.hit.score,
                "boost": r.boost,
                "boosts": r.boosts,
                "rerank_score": r.rerank_score,
                "rerank_tier": result.rerank_tier if r.rerank_score is not None else None,
            }
            for r in result.hits
        ],
        "boost_version": result.boost_version,
        "timings_ms": result.timings_ms,
        "backend_query": {
            "legs": legs,
            "limit": query.limit,
            "prefetch_limit": query.prefetch_limit,
            "leg_limit": query.leg_limit,
            "fusion": query.fusion,
            "fusion_site": query.fusion_site,
            "rrf_k": query.rrf_k,
            "weights": list(query.weights) if query.weights else None,
            "hnsw_ef": query.hnsw_ef,
            "exact": query.exact,
            "filter": {
                clause: [_describe(c) for c in getattr(query.filter, clause)]
                for clause in ("must", "should", "must_not")
            },
        },
    }


def _describe(condition: object) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(condition).items()}
