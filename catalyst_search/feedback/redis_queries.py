"""The Redis feedback store's per-day query counts: a sorted set per tenant, day and kind
(``qs``: searches, ``qns``: negatives), so analytics sums and ranks them inside Redis and only
the top queries leave it, however many distinct ones the days hold."""

from __future__ import annotations

import uuid
from typing import Any

import redis

from catalyst_search.feedback.records import normalized
from catalyst_search.feedback.store import COUNTER_TTL_S, day_of


def count_query(pipe: Any, p: str, tenant_id: str, at: float, query: str, kind: str) -> None:
    key = f"{p}:{kind}:{tenant_id}:{day_of(at)}"
    pipe.zincrby(key, 1, normalized(query))
    pipe.expire(key, COUNTER_TTL_S)


def top_queries(
    client: redis.Redis, p: str, tenant_id: str, start: float, end: float, *, top: int
) -> dict[str, tuple[int, int]]:
    """(searches, negatives) of the ``top`` queries searched most and the ``top`` with the most
    negatives over the days touching [start, end): ZUNIONSTORE over the days, then the top of
    each, then both counts of those."""
    days = list(range(day_of(start), int(end), 86400))
    _migrate(client, p, tenant_id, days)
    token = uuid.uuid4().hex
    sums = {kind: f"{p}:tmp:{token}:{kind}" for kind in ("qs", "qns")}
    try:
        pipe = client.pipeline(transaction=False)
        for kind, dest in sums.items():
            pipe.zunionstore(dest, [f"{p}:{kind}:{tenant_id}:{day}" for day in days])
            pipe.expire(dest, 60)
        pipe.execute()
        kept = {query for dest in sums.values() for query in _top(client, dest, top)}
        if not kept:
            return {}
        ordered = sorted(kept)
        pipe = client.pipeline(transaction=False)
        for dest in sums.values():
            pipe.zmscore(dest, ordered)
        searches, negatives = pipe.execute()
    finally:
        client.delete(*sums.values())
    return {
        query: (int(s or 0), int(n or 0))
        for query, s, n in zip(ordered, searches, negatives, strict=True)
    }


def _top(client: redis.Redis, key: str, top: int) -> list[str]:
    """The ``top`` members by score, ties by member (as the SQLite store orders them): those
    above the ``top``-th score, then those at it in their stored (lexical) order."""
    head: Any = client.zrevrange(key, top - 1, top - 1, withscores=True)
    if not head:  # fewer than ``top``: all of them
        every: Any = client.zrevrange(key, 0, -1)
        return [str(m) for m in every]
    last = head[0][1]
    above: Any = client.zrevrangebyscore(key, "+inf", f"({last}")
    at: Any = client.zrangebyscore(key, last, last, start=0, num=top - len(above))
    return [str(m) for m in [*above, *at]]


def _migrate(client: redis.Redis, p: str, tenant_id: str, days: list[int]) -> None:
    """Days counted before the sorted sets (hashes under ``q``/``qn``) become sorted sets, once
    each: read whole this one time, then gone."""
    old = [(f"{p}:{o}:{tenant_id}:{d}", f"{p}:{n}:{tenant_id}:{d}")
           for d in days for o, n in (("q", "qs"), ("qn", "qns"))]  # fmt: skip
    pipe = client.pipeline(transaction=False)
    for key, _ in old:
        pipe.exists(key)
    for (key, new), present in zip(old, pipe.execute(), strict=True):
        if not present:
            continue
        counts: Any = client.hgetall(key)
        pipe = client.pipeline()
        for query, value in counts.items():
            pipe.zincrby(new, int(value), query)
        pipe.expire(new, COUNTER_TTL_S)
        pipe.delete(key)
        pipe.execute()
