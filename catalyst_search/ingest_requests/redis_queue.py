"""The production ingest queue: a Redis Stream with a consumer group.

``claim`` reclaims (XAUTOCLAIM) entries left unacknowledged for longer than the visibility
timeout it is given, then reads new entries for the ``dagster`` group; ``ack`` acknowledges and
deletes. (Unlike the SQLite queue the timeout is applied when reclaiming, so callers pass the
same value every time, as the sensor does.)
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis

from catalyst_search.ingest_requests.contract import Delivery, IngestMessage
from catalyst_search.ingest_requests.queue import UNREADABLE

log = logging.getLogger("catalyst_search.ingest")

GROUP = "dagster"
CONSUMER = "ingest_requests"


class RedisQueue:
    def __init__(self, client: redis.Redis, *, prefix: str = "catalyst") -> None:
        self.client = client
        self.stream = f"{prefix}:ingest:requests"
        self.dead = f"{prefix}:ingest:dead"  # messages no version of this code can read

    def close(self) -> None:
        self.client.close()

    def _ensure_group(self) -> None:
        try:
            self.client.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def publish(self, message: IngestMessage) -> str:
        self._ensure_group()
        return str(self.client.xadd(self.stream, {"body": message.to_json()}))

    def claim(self, *, limit: int, visibility_s: float) -> list[Delivery]:
        self._ensure_group()
        idle_ms = int(visibility_s * 1000)
        reclaimed: Any = self.client.xautoclaim(
            self.stream, GROUP, CONSUMER, min_idle_time=idle_ms, start_id="0-0", count=limit
        )
        entries = list(reclaimed[1]) if reclaimed else []
        if len(entries) < limit:
            fresh: Any = self.client.xreadgroup(
                GROUP, CONSUMER, {self.stream: ">"}, count=limit - len(entries)
            )
            for _, items in fresh or []:
                entries.extend(items)
        deliveries = []
        for entry_id, fields in entries:
            if not fields:  # deleted while pending
                continue
            pending: Any = self.client.xpending_range(
                self.stream, GROUP, min=entry_id, max=entry_id, count=1
            )
            count = int(pending[0]["times_delivered"]) if pending else 1
            try:
                deliveries.append(
                    Delivery(entry_id, IngestMessage.from_json(fields["body"]), count)
                )
            except UNREADABLE as exc:
                self._bury(entry_id, fields, exc)
        return deliveries

    def _bury(self, entry_id: str, fields: dict[str, Any], exc: Exception) -> None:
        """Move an unreadable entry to the dead stream (its body is not logged: it may name
        sources with credentials in them)."""
        log.error("ingest request %s cannot be read, kept in %s: %r", entry_id, self.dead, exc)
        kept: dict[Any, Any] = {**fields, "id": entry_id, "error": repr(exc)}
        self.client.xadd(self.dead, kept)
        self.ack([entry_id])

    def ack(self, message_ids: list[str]) -> None:
        if message_ids:
            self.client.xack(self.stream, GROUP, *message_ids)
            self.client.xdel(self.stream, *message_ids)

    def depth(self) -> int:
        length: Any = self.client.xlen(self.stream)
        return int(length)

    def oldest_age_s(self) -> float:
        first: Any = self.client.xrange(self.stream, count=1)
        if not first:
            return 0.0
        millis = int(str(first[0][0]).split("-")[0])
        return max(0.0, time.time() - millis / 1000)
