"""The feedback store in Redis, beside the queue and the job records.

The feedback log is a stream (its entry ids carry the arrival time, so a day is an id range);
what the code location has written to Parquet is deleted from it. Counters are hashes per tenant
and hour; boosts a hash of versions per tenant with a pointer to the live one.
"""

from __future__ import annotations

import json
import time
from typing import Any, cast

import redis

from catalyst_search.feedback.records import FeedbackEvent, SearchRecord
from catalyst_search.feedback.redis_queries import count_query, top_queries
from catalyst_search.feedback.store import (
    COUNTER_TTL_S,
    SEARCH_TTL_S,
    BoostVersion,
    hour_of,
)

#: Keep the feedback once (KEYS[1], set for ARGV[1] s), append it to the log (KEYS[2]) and map
#: its event id (ARGV[3]) to its stream id (KEYS[3]): all or nothing. Returns the stream id.
_ADD = """
if not redis.call('SET', KEYS[1], 1, 'NX', 'EX', ARGV[1]) then return false end
local id = redis.call('XADD', KEYS[2], '*', 'event', ARGV[2])
redis.call('HSET', KEYS[3], ARGV[3], id)
return id
"""
#: versions kept per tenant (the live one always)
KEEP_VERSIONS = 20


class RedisFeedbackStore:
    def __init__(self, client: redis.Redis, *, prefix: str = "catalyst") -> None:
        self.client = client
        self.p = f"{prefix}:fb"
        self._add = client.register_script(_ADD)
        self._read: dict[str, str] = {}  # event id -> stream id, of what pending() returned

    def close(self) -> None:
        self.client.close()

    def _count(self, pipe: Any, tenant_id: str, at: float, *names: str) -> None:
        key = f"{self.p}:count:{tenant_id}:{hour_of(at)}"
        for name in names:
            pipe.hincrby(key, name, 1)
        pipe.expire(key, COUNTER_TTL_S)

    def log_searches(self, records: list[SearchRecord]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for r in records:
            pipe.set(f"{self.p}:search:{r.query_id}", r.to_json(), ex=SEARCH_TTL_S)
            self._count(
                pipe, r.tenant_id, r.at, *(["searches"] + ([] if r.results else ["zero_results"]))
            )
            count_query(pipe, self.p, r.tenant_id, r.at, r.query, "qs")
        pipe.execute()

    def search(self, tenant_id: str, query_id: str) -> SearchRecord | None:
        raw = self.client.get(f"{self.p}:search:{query_id}")
        record = SearchRecord.from_json(str(raw)) if raw else None
        return record if record and record.tenant_id == tenant_id else None

    def add_feedback(self, event: FeedbackEvent) -> bool:
        keys = [f"{self.p}:seen:{event.event_id}", f"{self.p}:events", f"{self.p}:stream_ids"]
        if not self._add(keys=keys, args=[SEARCH_TTL_S, event.to_json(), event.event_id]):
            return False
        pipe = self.client.pipeline(transaction=False)
        sign = "positive" if event.rating > 0 else "negative"
        self._count(pipe, event.tenant_id, event.at, "feedback", sign,
                    *(["clicks"] if event.kind == "click" else []))  # fmt: skip
        if event.rating < 0:
            count_query(pipe, self.p, event.tenant_id, event.at, event.query, "qns")
        pipe.execute()
        return True

    def pending(self, start: float, end: float, *, limit: int) -> list[FeedbackEvent]:
        low, high = int(start * 1000), max(int(end * 1000) - 1, 0)
        entries: Any = self.client.xrange(f"{self.p}:events", low, high, count=limit)
        events = []
        for stream_id, fields in entries:
            event = FeedbackEvent.from_json(fields["event"])
            self._read[event.event_id] = stream_id
            events.append(event)
        return events

    def ack(self, event_ids: list[str]) -> None:
        if not event_ids:
            return
        ids: Any = self.client.hmget(f"{self.p}:stream_ids", event_ids)
        stream_ids = [i or self._read.pop(e, None) for i, e in zip(ids, event_ids, strict=True)]
        stream_ids = [i for i in stream_ids if i]
        pipe = self.client.pipeline()
        if stream_ids:
            pipe.xdel(f"{self.p}:events", *stream_ids)
        pipe.hdel(f"{self.p}:stream_ids", *event_ids)
        pipe.execute()

    def oldest_pending(self) -> float | None:
        first: Any = self.client.xrange(f"{self.p}:events", "-", "+", count=1)
        return int(str(first[0][0]).split("-")[0]) / 1000 if first else None

    def pending_count(self) -> int:
        return int(cast(int, self.client.xlen(f"{self.p}:events")))

    def counters(self, tenant_id: str, start: float, end: float) -> dict[int, dict[str, int]]:
        hours = list(range(hour_of(start), int(end), 3600))
        pipe = self.client.pipeline(transaction=False)
        for hour in hours:
            pipe.hgetall(f"{self.p}:count:{tenant_id}:{hour}")
        found: dict[int, dict[str, int]] = {}
        for hour, values in zip(hours, pipe.execute(), strict=True):
            if values:
                found[hour] = {k: int(v) for k, v in values.items()}
        return found

    def queries(
        self, tenant_id: str, start: float, end: float, *, top: int
    ) -> dict[str, tuple[int, int]]:
        return top_queries(self.client, self.p, tenant_id, start, end, top=top)

    def put_boosts(
        self, tenant_id: str, version: str, boosts: dict[str, Any], stats: dict[str, Any]
    ) -> None:
        """The version's content in one hash, its date and stats in another (listing reads
        only those); the oldest versions past KEEP_VERSIONS go, never the live one."""
        key = f"{self.p}:boosts:{tenant_id}"
        meta = {"created_at": time.time(), "stats": stats}
        pipe = self.client.pipeline()
        pipe.hset(key, version, json.dumps({"boosts": boosts}))
        pipe.hset(f"{key}:meta", version, json.dumps(meta))
        pipe.execute()
        versions = self.boost_versions(tenant_id)
        for old in [v.version for v in versions[KEEP_VERSIONS:] if not v.live]:
            self.client.hdel(key, old)
            self.client.hdel(f"{key}:meta", old)

    def activate(self, tenant_id: str, version: str) -> bool:
        if not self.client.hexists(f"{self.p}:boosts:{tenant_id}", version):
            return False
        pipe = self.client.pipeline()
        pipe.set(f"{self.p}:boosts:{tenant_id}:live", version)
        pipe.sadd(f"{self.p}:boosts-live", tenant_id)
        pipe.execute()
        return True

    def live_tenants(self) -> list[str]:
        """A set kept by ``activate``; filled from the keys of live versions made before it was
        kept (an upgrade, or an older replica still running beside a newer one), at most once a
        day (a marker that expires says when it was done)."""
        live, seeded = f"{self.p}:boosts-live", f"{self.p}:boosts-live:seeded"
        if not self.client.exists(seeded):
            suffix = ":live"
            pattern = f"{self.p}:boosts:*{suffix}"
            tenants = [
                str(key)[len(f"{self.p}:boosts:") : -len(suffix)]
                for key in self.client.scan_iter(match=pattern, count=1000)
            ]
            pipe = self.client.pipeline()
            if tenants:
                pipe.sadd(live, *tenants)
            pipe.set(seeded, 1, ex=86400)
            pipe.execute()
        return sorted(str(t) for t in cast(set[str], self.client.smembers(live)))

    def live_version(self, tenant_id: str) -> str | None:
        value = self.client.get(f"{self.p}:boosts:{tenant_id}:live")
        return str(value) if value else None

    def live_boosts(self, tenant_id: str) -> tuple[str, dict[str, Any]] | None:
        version = self.live_version(tenant_id)
        raw = self.client.hget(f"{self.p}:boosts:{tenant_id}", version) if version else None
        return (str(version), dict(json.loads(str(raw))["boosts"])) if raw else None

    def get_boosts(self, tenant_id: str, version: str) -> dict[str, Any] | None:
        raw = self.client.hget(f"{self.p}:boosts:{tenant_id}", version)
        return dict(json.loads(str(raw))["boosts"]) if raw else None

    def boost_versions(self, tenant_id: str) -> list[BoostVersion]:
        live = self.live_version(tenant_id)
        raw: Any = self.client.hgetall(f"{self.p}:boosts:{tenant_id}:meta")
        versions = [
            BoostVersion(v, float(meta["created_at"]), v == live, meta["stats"])
            for v, meta in ((v, json.loads(m)) for v, m in raw.items())
        ]
        return sorted(versions, key=lambda b: b.created_at, reverse=True)
