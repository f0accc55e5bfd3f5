"""What one search returns: ranked hits and how they were produced."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from catalyst_search.index.schema import HEADING, Hit, body_point_of
from catalyst_search.options import Mode, Track
from catalyst_search.retrieval.rerank.chain import FUSED


@dataclass
class RankedHit:
    hit: Hit
    score: float  # what the caller ranks by: rerank score in premium, fused score otherwise
    rerank_score: float | None = None
    boost: float = 1.0  # the live boosts' multiplier of the fused score
    boosts: list[dict[str, Any]] = field(default_factory=list)  # what it is made of


@dataclass
class RetrievalResult:
    hits: list[RankedHit]
    index_version: str | None
    timings_ms: dict[str, float] = field(default_factory=dict)
    mode: Mode = "economy"
    track: Track = "text"
    rerank_tier: str = FUSED
    degraded: bool = False
    degradation_reason: str | None = None
    debug: dict[str, Any] | None = None
    boost_version: str | None = None  # the tenant's live boosts, when any applied


def collapse_headings(hits: list[Hit], limit: int) -> list[Hit]:
    """At most one of a document's heading point and its first chunk, at the better rank.

    A heading point (``chunk_kind: heading``) holds the dense vector of a document's heading
    alone and shows the document's first chunk (``chunk_no`` 0); the two are one result to the
    caller, under the first chunk's id. (Client-side fusion already merges them; this covers
    fusion in the engine, which ranks the two apart: there a heading's dense score is not added
    to its chunk's BM25 evidence.)"""
    seen: set[tuple[str, int]] = set()
    kept: list[Hit] = []
    for hit in hits:
        if hit.payload.get("chunk_kind") == HEADING:  # engine fusion returns it as it is
            hit = replace(hit, id=body_point_of(hit.id))
        key = (str(hit.payload.get("document_id", hit.id)), int(hit.payload.get("chunk_no", 0)))
        if key in seen:
            continue
        seen.add(key)
        kept.append(hit)
        if len(kept) == limit:
            break
    return kept
