"""Verify a CatalystIndex webhook in your receiver.

Every delivery carries ``Catalyst-Signature: t=<unix seconds>,v1=<hex>``: HMAC-SHA256, keyed
with your tenant's signing secret (``CatalystClient.webhook_secret()``), over the timestamp, a
dot and the raw body. ``verify`` checks it in constant time, refuses a timestamp outside the
tolerance (an old delivery replayed), and returns the payload. A delivery can come twice (its
answer was lost): drop a ``Catalyst-Delivery`` id you have already handled::

    payload = verify(secret, request_body_bytes, request.headers["Catalyst-Signature"])
    if payload["type"] == "job.finished": ...
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

SIGNATURE_HEADER = "Catalyst-Signature"
DELIVERY_HEADER = "Catalyst-Delivery"
EVENT_HEADER = "Catalyst-Event"


class InvalidSignature(ValueError):
    """The delivery is not from the service, was altered, or is too old."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(
    secret: str,
    body: bytes,
    header: str | None,
    *,
    tolerance_s: float = 300.0,
    now: float | None = None,
) -> dict[str, Any]:
    """The delivery's payload when ``header`` signs ``body`` with ``secret``; raises
    ``InvalidSignature`` otherwise."""
    if not header:
        raise InvalidSignature(f"no {SIGNATURE_HEADER} header")
    parts = dict(item.partition("=")[::2] for item in header.split(","))
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError) as exc:
        raise InvalidSignature("the signature header has no timestamp") from exc
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        raise InvalidSignature("the signature's timestamp is outside the tolerance")
    given = parts.get("v1", "").encode("utf-8", "replace")
    if not hmac.compare_digest(given, signature(secret, timestamp, body).encode()):
        raise InvalidSignature("the signature does not match the body")
    payload: dict[str, Any] = json.loads(body)
    return payload
