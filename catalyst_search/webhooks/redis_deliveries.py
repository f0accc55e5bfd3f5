"""Webhook deliveries in Redis, beside the job records: a hash per delivery, a list per job,
and one sorted set of the pending ones by when they are due."""

from __future__ import annotations

import time
import uuid
from typing import Any, cast

import redis

from catalyst_search.webhooks.deliveries import LEASE_S, Origin, WebhookDelivery

#: Waiting deliveries of the job (its list, KEYS[1]) become pending and due at ARGV[1], each
#: once: a delivery already pending, delivered or failed is left alone.
_FINISH = """
local ids = redis.call('LRANGE', KEYS[1], 0, -1)
for _, id in ipairs(ids) do
  local key = ARGV[2] .. id
  if redis.call('HGET', key, 'state') == 'waiting' then
    redis.call('HSET', key, 'state', 'pending', 'next_at', ARGV[1], 'updated_at', ARGV[1])
    redis.call('ZADD', KEYS[2], ARGV[1], id)
  end
end
return #ids
"""
#: Take up to ARGV[3] members due by ARGV[1] and re-score them to ARGV[2]: one atomic claim.
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return due
"""
#: Store an attempt's outcome (the hash KEYS[2], fields from ARGV[4]) only while the claim that
#: handed it out holds: its score in the due set (KEYS[1]) is still the lease, ARGV[1]. Then
#: it is due again at ARGV[3], or (empty) leaves the due set.
_RECORD = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not score or tonumber(score) ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], unpack(ARGV, 4))
if ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
else
  redis.call('ZREM', KEYS[1], ARGV[2])
end
return 1
"""


class RedisDeliveries:
    def __init__(self, client: redis.Redis, *, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._claim = client.register_script(_CLAIM)
        self._finish = client.register_script(_FINISH)
        self._record = client.register_script(_RECORD)

    def _key(self, delivery_id: str) -> str:
        return f"{self.prefix}:webhook:{delivery_id}"

    def _job_key(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}:webhooks"

    @property
    def _due_key(self) -> str:
        return f"{self.prefix}:webhooks:due"

    def register(self, job_id: str, tenant_id: str, urls: list[str], origin: Origin) -> None:
        pipe = self.client.pipeline()
        for url in urls:
            delivery = WebhookDelivery(uuid.uuid4().hex, job_id, tenant_id, url, origin)
            delivery.updated_at = time.time()
            pipe.hset(self._key(delivery.delivery_id), mapping=_fields(delivery))
            pipe.rpush(self._job_key(job_id), delivery.delivery_id)
        pipe.execute()

    def job_finished(self, job_id: str) -> None:
        keys = [self._job_key(job_id), self._due_key]
        self._finish(keys=keys, args=[time.time(), f"{self.prefix}:webhook:"])

    def claim_due(self, now: float, *, limit: int) -> list[WebhookDelivery]:
        lease = now + LEASE_S
        ids = cast(list[str], self._claim(keys=[self._due_key], args=[now, lease, limit]))
        claimed = [self._get(delivery_id) for delivery_id in ids]
        for delivery in claimed:
            if delivery is not None:
                delivery.lease = lease
        return [d for d in claimed if d is not None and d.state == "pending"]

    def record(self, delivery: WebhookDelivery) -> bool:
        if delivery.lease is None:
            return False  # not handed out by claim_due: nothing of ours to record
        delivery.updated_at = time.time()
        due = delivery.next_at if delivery.state == "pending" else None
        fields = [item for pair in _fields(delivery).items() for item in pair]
        keys = [self._due_key, self._key(delivery.delivery_id)]
        args = [delivery.lease, delivery.delivery_id, "" if due is None else due, *fields]
        return bool(self._record(keys=keys, args=args))

    def for_job(self, job_id: str) -> list[WebhookDelivery]:
        ids = cast(list[str], self.client.lrange(self._job_key(job_id), 0, -1))
        found = [self._get(delivery_id) for delivery_id in ids]
        return [d for d in found if d is not None]

    def _get(self, delivery_id: str) -> WebhookDelivery | None:
        raw: Any = self.client.hgetall(self._key(delivery_id))
        if not raw:
            return None
        return WebhookDelivery(
            delivery_id=delivery_id,
            job_id=raw["job_id"],
            tenant_id=raw["tenant_id"],
            url=raw["url"],
            origin=raw.get("origin", "job"),
            state=raw["state"],
            attempts=int(raw.get("attempts", 0)),
            next_at=float(raw["next_at"]) if raw.get("next_at") else None,
            last_status=int(raw["last_status"]) if raw.get("last_status") else None,
            last_error=raw.get("last_error") or None,
            updated_at=float(raw.get("updated_at", 0)),
        )


def _fields(delivery: WebhookDelivery) -> Any:
    """The hash fields of ``delivery``; None is stored as an empty string."""
    values = delivery.view()
    del values["delivery_id"]
    return {key: "" if value is None else value for key, value in values.items()}
