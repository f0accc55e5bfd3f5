"""The Redis Streams queue against the machine's real Redis (own key prefix, cleaned up)."""

from __future__ import annotations

import time

import pytest

from catalyst_search.ingest_requests.contract import IngestMessage
from catalyst_search.ingest_requests.redis_queue import RedisQueue
from tests.helpers.services import delete_prefix, machine_redis, unique_prefix


@pytest.fixture
def queue():
    client = machine_redis()
    prefix = unique_prefix()
    yield RedisQueue(client, prefix=prefix)
    delete_prefix(client, prefix)


def test_stream_delivers_at_least_once_until_acked(queue):
    first = queue.publish(IngestMessage("j1", "default", ["/a"]))
    queue.publish(IngestMessage("j2", "default", ["/b"]))
    assert queue.depth() == 2
    assert queue.oldest_age_s() >= 0
    claimed = queue.claim(limit=1, visibility_s=0.3)
    assert [(d.message_id, d.message.job_id) for d in claimed] == [(first, "j1")]
    assert [d.message.job_id for d in queue.claim(limit=5, visibility_s=0.3)] == ["j2"]
    assert queue.claim(limit=5, visibility_s=0.3) == []  # both pending in the group
    time.sleep(0.4)
    again = queue.claim(limit=5, visibility_s=0.3)
    assert sorted(d.message.job_id for d in again) == ["j1", "j2"]  # reclaimed, not lost
    assert all(d.deliveries >= 2 for d in again)
    queue.ack([d.message_id for d in again])
    assert queue.depth() == 0
    assert queue.claim(limit=5, visibility_s=0) == []
