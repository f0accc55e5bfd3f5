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
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from catalyst_search.index.contract import HybridQuery
from catalyst_search.index.schema import Hit, body_point_of, body_point_of_int, uuid_text

SCORE_DECIMALS = 5  # float32 carries ~7 significant digits; two engines agree to about 1e-6


class Candidate(NamedTuple):
    """A leg's point: its id (the UUID as text, or as its integer: see ``PointIds``) and score."""

    id: Hashable
    score: float


class Fused(NamedTuple):
    id: Hashable
    score: float
    ranks: tuple[int | None, ...]  # 1-based rank in each leg, None where absent
    leg_scores: tuple[float | None, ...]


@dataclass(frozen=True)
class PointIds:
    """How a backend's candidate ids are read: the chunk a heading point stands for, and the id
    as the text a ``Hit`` carries. Integers order as their UUIDs' canonical text does (fixed
    width, lower-case hex), so ties break the same way in either form."""

    body_of: Callable[[Any], Any]
    text_of: Callable[[Any], str]


TEXT_IDS = PointIds(body_point_of, str)
#: Qdrant Edge's ids as integers (``uuid.UUID.int``): hashed and compared in C, and only the
#: hits' made into text (measured in-process: conversion and fusion 0.46 ms a query against
#: 0.77 with text ids, the same results for 300 ICD queries; docs/performance.md)
UUID_INTS = PointIds(body_point_of_int, uuid_text)

#: (id, score): a ``Candidate``, or a pair made on the way
Scored = tuple[Any, float]


def canonical(candidates: Sequence[Scored], limit: int) -> list[Scored]:
    """Best first, equal scores by id, cut to ``limit``."""
    ordered = sorted(candidates, key=lambda c: (-round(c[1], SCORE_DECIMALS), c[0]))
    return ordered[:limit]


def _dbsf_normalize(leg: Sequence[Scored]) -> dict[Any, float]:
    """Distribution-based score fusion: scale by mean +- 3 standard deviations into [0, 1]."""
    scores = [score for _, score in leg]
    if len(scores) < 2:
        return {pid: 1.0 for pid, _ in leg}
    mean = math.fsum(scores) / len(scores)  # statistics.pstdev is exact (Fractions), and slow
    std = math.sqrt(math.fsum((s - mean) ** 2 for s in scores) / len(scores))
    low, high = mean - 3 * std, mean + 3 * std
    span = high - low or 1.0
    return {pid: min(1.0, max(0.0, (score - low) / span)) for pid, score in leg}


def _headings_as_chunks(leg: Sequence[Scored], body_of: Callable[[Any], Any]) -> list[Scored]:
    best: dict[Any, float] = {}
    for pid, score in leg:
        body = body_of(pid)
        known = best.get(body)
        if known is None or score > known:
            best[body] = score
    return list(best.items())


def fuse(
    legs: Sequence[Sequence[Scored]],
    *,
    limit: int,
    prefetch_limit: int,
    method: str = "rrf",
    rrf_k: int = 2,
    weights: Sequence[float] | None = None,
    body_of: Callable[[Any], Any] = body_point_of,
) -> list[Fused]:
    """Fuse ranked legs. One leg: its own canonical order. RRF: sum of w / (k + rank).

    A heading point's score counts for the first chunk of its document (the better of the two
    dense scores), so the document is fused once, with all its evidence."""
    ranked = [canonical(_headings_as_chunks(leg, body_of), prefetch_limit) for leg in legs]
    count = len(ranked)
    weights = list(weights) if weights else [1.0] * count
    ranks: dict[Any, list[int | None]] = {}
    scores: dict[Any, list[float | None]] = {}
    for n, leg in enumerate(ranked):
        for rank, (pid, score) in enumerate(leg, start=1):
            if pid not in ranks:
                ranks[pid], scores[pid] = [None] * count, [None] * count
            ranks[pid][n] = rank
            scores[pid][n] = score
    if count == 1:
        fused = dict(ranked[0])
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
    order = canonical(list(fused.items()), limit)
    return [Fused(pid, score, tuple(ranks[pid]), tuple(scores[pid])) for pid, score in order]


def run_query(
    query: HybridQuery,
    legs: Callable[[HybridQuery], list[list[Candidate]]],
    payloads: Callable[[list[str]], dict[str, dict[str, Any]]],
    timings: dict[str, float] | None = None,
    ids: PointIds = TEXT_IDS,
) -> list[Hit]:
    """What every backend's ``query`` does: fetch legs, fuse deterministically, load payloads.

    ``timings`` (when given) receives ``prefetch`` and ``fusion`` in milliseconds, the latter
    including the payload fetch of the fused top hits. ``ids`` says how ``legs`` gives ids.
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
        body_of=ids.body_of,
    )
    texts = [ids.text_of(f.id) for f in fused]
    found = payloads(texts)
    if timings is not None:
        timings["prefetch"] = round((mark - started) * 1000, 3)
        timings["fusion"] = round((time.perf_counter() - mark) * 1000, 3)
    return [
        Hit(id=text, score=f.score, payload=found[text], ranks=f.ranks, leg_scores=f.leg_scores)
        for text, f in zip(texts, fused, strict=True)
        if text in found
    ]
