"""API keys in Redis, beside the queue, so every search replica sees the same keys."""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from catalyst_search.auth.keys import ApiKey


class RedisKeyStore:
    """One hash field per key under ``<prefix>:api_keys``; the digest, never the key."""

    def __init__(self, client: redis.Redis, *, prefix: str) -> None:
        self.client = client
        self.name = f"{prefix}:api_keys"

    def add(self, key: ApiKey) -> None:
        self.client.hset(self.name, key.key_id, json.dumps({**key.public(), "digest": key.digest}))

    def get(self, key_id: str) -> ApiKey | None:
        raw: Any = self.client.hget(self.name, key_id)
        return _key(raw) if raw else None

    def list(self, tenant_id: str | None = None) -> list[ApiKey]:
        raw: Any = self.client.hvals(self.name)
        keys = sorted((_key(item) for item in raw), key=lambda k: k.created_at)
        return [k for k in keys if tenant_id is None or k.tenant_id == tenant_id]

    def revoke(self, key_id: str) -> bool:
        key = self.get(key_id)
        if key is None or key.revoked_at is not None:
            return False
        fields = {**key.public(), "digest": key.digest, "revoked_at": time.time()}
        self.client.hset(self.name, key_id, json.dumps(fields))
        return True

    def close(self) -> None:
        self.client.close()


def _key(raw: str) -> ApiKey:
    item = json.loads(raw)
    return ApiKey(
        item["key_id"],
        item["tenant_id"],
        tuple(item["roles"]),
        item["label"],
        item["created_at"],
        item["revoked_at"],
        item["digest"],
    )
