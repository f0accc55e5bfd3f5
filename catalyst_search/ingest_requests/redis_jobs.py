"""Job records in Redis (production, beside the Redis queue): one hash per job and per source."""

from __future__ import annotations

import json
import time
from typing import Any, cast

import redis

from catalyst_search.ingest_requests.events import MAX_EVENTS, JobEvent
from catalyst_search.ingest_requests.jobs import TERMINAL, Job, RunUpdates, SourceRun
from catalyst_search.ingest_requests.watches import RedisWatches
from catalyst_search.webhooks.redis_deliveries import RedisDeliveries

#: KEYS[1] (a source's hash) becomes cancelled if it is queued with no run; 1 if it did.
_CANCEL_QUEUED = """
if redis.call('HGET', KEYS[1], 'status') ~= 'queued' then return 0 end
local run = redis.call('HGET', KEYS[1], 'run_id')
if run and run ~= '' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'error', ARGV[1], 'updated_at', ARGV[2])
return 1
"""
#: how many more ids than asked a page reads, for ties at the cursor and missing records
_SLACK = 32


class RedisJobStore(RunUpdates):
    """Same contract as ``SqliteJobStore``; run workers on any host update it."""

    def __init__(self, client: redis.Redis, *, prefix: str = "catalyst") -> None:
        self.client = client
        self.prefix = prefix
        self.webhooks = RedisDeliveries(client, prefix=prefix)
        self.watches = RedisWatches(client, prefix=prefix)
        self._cancel_script = client.register_script(_CANCEL_QUEUED)

    def close(self) -> None:
        self.client.close()

    def _job_key(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    def _tenant_key(self, tenant_id: str) -> str:
        return f"{self.prefix}:tenant:{tenant_id}:jobs"

    @property
    def _cancels_key(self) -> str:
        return f"{self.prefix}:cancels"

    def _run_key(self, job_id: str, source: str) -> str:
        return f"{self.prefix}:job:{job_id}:source:{source}"

    def create(self, *, job_id: str, tenant_id: str, sources: list[str], metadata: dict) -> Job:
        now = time.time()
        pipe = self.client.pipeline()
        pipe.hset(
            self._job_key(job_id),
            mapping={
                "tenant_id": tenant_id,
                "sources": json.dumps(sources),
                "metadata": json.dumps(metadata),
                "created_at": now,
                "updated_at": now,
            },
        )
        for source in sources:
            pipe.hset(
                self._run_key(job_id, source),
                mapping={
                    "status": "queued",
                    "docs_done": 0,
                    "attempts": 0,
                    "failures": "[]",
                    "artifact_uris": "[]",
                    "updated_at": now,
                },
            )
        pipe.zadd(self._tenant_key(tenant_id), {job_id: now})
        pipe.execute()
        self._append(job_id, "job_queued", {"sources": sources})
        job = self.get(job_id)
        assert job is not None
        return job

    def exists(self, job_id: str) -> bool:
        return bool(self.client.exists(self._job_key(job_id)))

    def get(self, job_id: str) -> Job | None:
        data: Any = self.client.hgetall(self._job_key(job_id))
        if not data:
            return None
        sources = json.loads(data["sources"])
        runs = []
        for source in sources:
            r: Any = self.client.hgetall(self._run_key(job_id, source))
            runs.append(
                SourceRun(
                    source=source,
                    status=r.get("status", "queued"),
                    run_id=r.get("run_id") or None,
                    docs_done=int(r.get("docs_done", 0)),
                    docs_total=int(r["docs_total"]) if r.get("docs_total") else None,
                    attempts=int(r.get("attempts", 0)),
                    step_retries=int(r.get("step_retries", 0)),
                    failures=json.loads(r.get("failures", "[]")),
                    artifact_uris=json.loads(r.get("artifact_uris", "[]")),
                    error=r.get("error") or None,
                    retried=json.loads(r.get("retried", "[]")),
                )
            )
        return Job(
            job_id,
            data["tenant_id"],
            sources,
            json.loads(data["metadata"]),
            float(data["created_at"]),
            float(data["updated_at"]),
            runs,
            float(data["cancel_requested_at"]) if data.get("cancel_requested_at") else None,
        )

    def list_jobs(
        self, tenant_id: str, *, limit: int, after: tuple[float, str] | None
    ) -> list[Job]:
        """A sorted set per tenant scored by creation time; equal scores come in reverse id
        order, as in SQLite. Ids whose record is gone are dropped from the set."""
        key, jobs = self._tenant_key(tenant_id), list[Job]()
        at, last = after if after else (float("inf"), "")
        while len(jobs) < limit:
            top = "+inf" if at == float("inf") else repr(at)
            entries: Any = self.client.zrevrangebyscore(
                key, top, "-inf", start=0, num=limit + _SLACK, withscores=True
            )
            fresh = [(j, s) for j, s in entries if s < at or (s == at and j < last)]
            for job_id, score in fresh:
                job = self.get(job_id)
                if job is None:
                    self.client.zrem(key, job_id)
                else:
                    jobs.append(job)
                at, last = score, job_id
                if len(jobs) == limit:
                    break
            if len(entries) < limit + _SLACK or not fresh:
                break
        return jobs

    def _cancel_queued(self, job_id: str, source: str, error: str) -> bool:
        changed = self._cancel_script(
            keys=[self._run_key(job_id, source)], args=[error, time.time()]
        )
        if changed:
            self.client.hset(self._job_key(job_id), "updated_at", str(time.time()))
        return bool(changed)

    def _request_cancel(self, job_id: str) -> None:
        self.client.hsetnx(self._job_key(job_id), "cancel_requested_at", str(time.time()))
        self.client.sadd(self._cancels_key, job_id)

    def pending_cancels(self, *, limit: int) -> list[str]:
        pending: list[str] = []
        for job_id in cast(Any, self.client.srandmember(self._cancels_key, 10 * limit)) or []:
            job = self.get(job_id)
            if job is None or job.status in TERMINAL:
                self.client.srem(self._cancels_key, job_id)  # settled
            elif len(pending) < limit:
                pending.append(job_id)
        return pending

    def _update(self, job_id: str, source: str, **fields: Any) -> None:
        now = time.time()
        values: dict[str, Any] = {k: ("" if v is None else v) for k, v in fields.items()}
        values["updated_at"] = now
        pipe = self.client.pipeline()
        pipe.hset(self._run_key(job_id, source), mapping=cast(Any, values))
        pipe.hset(self._job_key(job_id), "updated_at", str(now))
        pipe.execute()

    def run_started(
        self, job_id: str, source: str, *, run_id: str, step_retry: bool = False
    ) -> None:
        key = self._run_key(job_id, source)
        attempt = None
        if self.client.hget(key, "run_id") != run_id:
            attempt = int(cast(Any, self.client.hincrby(key, "attempts", 1)))
        if step_retry:
            self.client.hincrby(key, "step_retries", 1)
        self._update(job_id, source, run_id=run_id, status="running", error=None)
        self._started(job_id, source, run_id=run_id, attempt=attempt, step_retry=step_retry)

    def _events_key(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}:events"

    def _append(self, job_id: str, kind: str, data: dict[str, Any]) -> None:
        fields = {"at": time.time(), "kind": kind, "data": json.dumps(data)}
        self.client.xadd(
            self._events_key(job_id), cast(Any, fields), maxlen=MAX_EVENTS, approximate=True
        )

    def events(self, job_id: str, *, after: str | None, limit: int) -> list[JobEvent]:
        """The job's events after stream id ``after`` (from the first when None)."""
        valid = after and all(p.isascii() and p.isdigit() for p in after.split("-", 1))
        start = f"({after}" if valid else "-"
        entries: Any = self.client.xrange(self._events_key(job_id), start, "+", count=limit)
        return [
            JobEvent(entry_id, float(f["at"]), f["kind"], json.loads(f["data"]))
            for entry_id, f in entries
        ]

    def beat(self, name: str) -> None:
        self.client.set(f"{self.prefix}:heartbeat:{name}", time.time())

    def last_beat(self, name: str) -> float | None:
        value = self.client.get(f"{self.prefix}:heartbeat:{name}")
        return float(str(value)) if value else None
