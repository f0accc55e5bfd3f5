"""Deterministic fusion of the dense and sparse legs, shared by both backends.

Both backends return each leg's candidates with their scores; ties are broken by point id
(scores compared at float32 precision) before ranks are taken, so the embedded and server
backends, and any two replicas, give the same ids in the same order. Fusing inside the engine
instead lets equal BM25 scores come back in storage order, which differs between backends and
moves documents several places after RRF (measured: 5 of 10 positions on an ICD query).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from catalyst_search.index.contract import HybridQuery
from catalyst_search.index.schema import Hit, body_point_of

SCORE_DECIMALS = 5  # float32 carries ~7 significant digits; two engines agree to about 1e-6


@dataclass(frozen=True)
class Candidate:
    id: str
    score: float


@dataclass(frozen=True)
class Fused:
    id: str
    score: float
    ranks: tuple[int | None, ...]  # 1-based rank in each leg, None where absent
    leg_scores: tuple[float | None, ...]


def canonical(candidates: Sequence[Candidate], limit: int) -> list[Candidate]:
    """Best first, equal scores by id, cut to ``limit``."""
    ordered = sorted(candidates, key=lambda c: (-round(c.score, SCORE_DECIMALS), c.id))
    return ordered[:limit]


def _dbsf_normalize(leg: Sequence[Candidate]) -> dict[str, float]:
    """Distribution-based score fusion: scale by mean +- 3 standard deviations into [0, 1]."""
    scores = [c.score for c in leg]
    if len(scores) < 2:
        return {c.id: 1.0 for c in leg}
    mean = math.fsum(scores) / len(scores)  # statistics.pstdev is exact (Fractions), and slow
    std = math.sqrt(math.fsum((s - mean) ** 2 for s in scores) / len(scores))
    low, high = mean - 3 * std, mean + 3 * std
    span = high - low or 1.0
    return {c.id: min(1.0, max(0.0, (c.score - low) / span)) for c in leg}


def _headings_as_chunks(leg: Sequence[Candidate]) -> list[Candidate]:
    best: dict[str, float] = {}
    for cand in leg:
        pid = body_point_of(cand.id)
        if pid not in best or cand.score > best[pid]:
            best[pid] = cand.score
    return [Candidate(pid, score) for pid, score in best.items()]


def fuse(
    legs: Sequence[Sequence[Candidate]],
    *,
    limit: int,
    prefetch_limit: int,
    method: str = "rrf",
    rrf_k: int = 2,
    weights: Sequence[float] | None = None,
) -> list[Fused]:
    """Fuse ranked legs. One leg: its own canonical order. RRF: sum of w / (k + rank).

    A heading point's score counts for the first chunk of its document (the better of the two
    dense scores), so the document is fused once, with all its evidence."""
    ranked = [canonical(_headings_as_chunks(leg), prefetch_limit) for leg in legs]
    weights = list(weights) if weights else [1.0] * len(ranked)
    ranks: dict[str, list[int | None]] = {}
    scores: dict[str, list[float | None]] = {}
    for n, leg in enumerate(ranked):
        for rank, cand in enumerate(leg, start=1):
            ranks.setdefault(cand.id, [None] * len(ranked))[n] = rank
            scores.setdefault(cand.id, [None] * len(ranked))[n] = cand.score
    if len(ranked) == 1:
        fused = {cand.id: cand.score for cand in ranked[0]}
    elif method == "dbsf":
        fused = dict.fromkeys(ranks, 0.0)
        for n, leg in enumerate(ranked):
            for pid, value in _dbsf_normalize(leg).items():
                fused[pid] += weights[n] * value
    else:
        fused = {
            pid: sum(weights[n] / (rrf_k + r) for n, r in enumerate(rs) if r is not None)
            for pid, rs in ranks.items()
        }
    order = canonical([Candidate(pid, score) for pid, score in fused.items()], limit)
    return [Fused(c.id, c.score, tuple(ranks[c.id]), tuple(scores[c.id])) for c in order]


def run_query(
    query: HybridQuery,
    legs: Callable[[HybridQuery], list[list[Candidate]]],
    payloads: Callable[[list[str]], dict[str, dict[str, Any]]],
    timings: dict[str, float] | None = None,
) -> list[Hit]:
    """What every backend's ``query`` does: fetch legs, fuse deterministically, load payloads.

    ``timings`` (when given) receives ``prefetch`` and ``fusion`` in milliseconds, the latter
    including the payload fetch of the fused top hits.
    """
    if query.dense is None and query.sparse is None:
        raise ValueError("a query needs a dense or a sparse vector")
    started = time.perf_counter()
    fetched = legs(query)
    mark = time.perf_counter()
    both = query.dense is not None and query.sparse is not None
    fused = fuse(
        fetched,
        limit=query.limit,
        prefetch_limit=query.prefetch_limit if both else query.limit,
        method=query.fusion,
        rrf_k=query.rrf_k,
        weights=query.weights,
    )
    found = payloads([f.id for f in fused])
    if timings is not None:
        timings["prefetch"] = round((mark - started) * 1000, 3)
        timings["fusion"] = round((time.perf_counter() - mark) * 1000, 3)
    return [
        Hit(id=f.id, score=f.score, payload=found[f.id], ranks=f.ranks, leg_scores=f.leg_scores)
        for f in fused
        if f.id in found
    ]
