"""The verified caller: a tenant and roles, and the one error every credential check raises."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, TypeGuard

from catalyst_search.options import TENANT_PATTERN, Role, choices

ROLES: frozenset[str] = frozenset(choices(Role))


def is_tenant_id(value: object) -> TypeGuard[str]:
    """``value`` is a tenant id: the whole of it matches ``TENANT_PATTERN`` (``re.match``
    would accept a trailing newline, which ``$`` matches before)."""
    return isinstance(value, str) and re.fullmatch(TENANT_PATTERN, value) is not None


#: Why a credential was refused; the label of ``catalyst_auth_failures_total``.
AuthReason = Literal[
    "missing_credentials",
    "malformed_header",
    "malformed_token",
    "expired",
    "not_yet_valid",
    "bad_audience",
    "bad_issuer",
    "bad_signature",
    "algorithm_not_allowed",
    "unknown_kid",
    "missing_claim",
    "missing_tenant",
    "unknown_key",
    "revoked_key",
    "keys_unavailable",
    "method_not_enabled",
]


class AuthError(Exception):
    """A credential was refused (401). ``reason`` is a stable code; the message never holds it."""

    def __init__(self, reason: AuthReason, message: str) -> None:
        super().__init__(message)
        self.reason: AuthReason = reason


@dataclass(frozen=True)
class Principal:
    """Who a request acts for. ``subject`` is the JWT ``sub`` or the API key id."""

    tenant_id: str
    roles: frozenset[str]
    subject: str
    method: Literal["jwt", "apikey", "disabled"]

    def has(self, role: Role) -> bool:
        return role in self.roles or "admin" in self.roles


def parse_roles(raw: object) -> frozenset[str]:
    """Known roles from a claim or a flag: a list, or a comma/space separated string."""
    items: list[object]
    if isinstance(raw, str):
        items = list(raw.replace(",", " ").split())
    elif isinstance(raw, list | tuple | set | frozenset):
        items = list(raw)
    else:
        return frozenset()
    return frozenset(str(item) for item in items if str(item) in ROLES)
