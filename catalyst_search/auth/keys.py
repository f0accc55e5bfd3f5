"""API keys for services: minted once, stored as a SHA-256 digest, looked up by key id.

A key reads ``ck_<key id>_<secret>``. The secret is 32 random bytes, so a plain SHA-256 of it
cannot be brute-forced and a slow password hash would only add latency to every request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Protocol

from catalyst_search.auth.principal import AuthError, Principal

KEY_PREFIX = "ck_"
_KEY = re.compile(r"^ck_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class ApiKey:
    """What is kept of a key: never the key itself."""

    key_id: str
    tenant_id: str
    roles: tuple[str, ...]
    label: str
    created_at: float
    revoked_at: float | None = None
    digest: str = ""

    def public(self) -> dict[str, object]:
        return {
            "key_id": self.key_id,
            "tenant_id": self.tenant_id,
            "roles": list(self.roles),
            "label": self.label,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def mint(tenant_id: str, roles: tuple[str, ...], label: str = "") -> tuple[ApiKey, str]:
    """A new key record and the key to hand out (shown once)."""
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    record = ApiKey(
        key_id, tenant_id, tuple(sorted(roles)), label, time.time(), None, digest(secret)
    )
    return record, f"{KEY_PREFIX}{key_id}_{secret}"


class KeyStore(Protocol):
    def add(self, key: ApiKey) -> None: ...

    def get(self, key_id: str) -> ApiKey | None: ...

    def list(self, tenant_id: str | None = None) -> list[ApiKey]: ...

    def revoke(self, key_id: str) -> bool: ...

    def close(self) -> None: ...


def verify_key(store: KeyStore, presented: str) -> Principal:
    """The principal of a presented key, or ``AuthError``; compares digests in constant time."""
    match = _KEY.fullmatch(presented)
    if not match:
        raise AuthError("malformed_token", "not an API key (ck_<id>_<secret>)")
    record = store.get(match.group(1))
    if record is None or not hmac.compare_digest(record.digest, digest(match.group(2))):
        raise AuthError("unknown_key", "unknown API key")
    if record.revoked_at is not None:
        raise AuthError("revoked_key", "this API key was revoked")
    return Principal(record.tenant_id, frozenset(record.roles), record.key_id, "apikey")
