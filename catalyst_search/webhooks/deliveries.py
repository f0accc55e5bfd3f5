"""The record of one webhook delivery, and what a delivery store does.

A delivery is registered with its job (``waiting``), becomes ``pending`` and due when the job
ends, and is then attempted until ``delivered`` or, out of attempts, ``failed``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

DeliveryState = Literal["waiting", "pending", "delivered", "failed"]
#: job: the job's own webhook_url; tenant: CATALYST_TENANT_WEBHOOKS when the job was accepted
Origin = Literal["job", "tenant"]
#: A claimed delivery is not handed out again for this long (the sender is working on it).
LEASE_S = 120.0
#: Webhooks one job may report to (its own and its tenant's).
MAX_PER_JOB = 4


@dataclass
class WebhookDelivery:
    delivery_id: str
    job_id: str
    tenant_id: str
    url: str
    origin: Origin = "job"
    state: DeliveryState = "waiting"
    attempts: int = 0
    next_at: float | None = None
    last_status: int | None = None
    last_error: str | None = None
    updated_at: float = 0.0
    #: when the claim that handed it out expires: ``record`` stores the outcome only while
    #: this claim still holds (not stored itself, nor shown)
    lease: float | None = field(default=None, compare=False, repr=False)

    def view(self) -> dict[str, Any]:
        values = asdict(self)
        del values["lease"]
        return values


class DeliveryStore(Protocol):
    def register(self, job_id: str, tenant_id: str, urls: list[str], origin: Origin) -> None:
        """Deliveries for the job's end, waiting until it ends."""

    def job_finished(self, job_id: str) -> None:
        """The job ended: its waiting deliveries are due now (once, however often called)."""

    def claim_due(self, now: float, *, limit: int) -> list[WebhookDelivery]:
        """Pending deliveries due by ``now``, leased for ``LEASE_S`` to the caller."""
        ...

    def record(self, delivery: WebhookDelivery) -> bool:
        """Store the outcome of an attempt on a delivery ``claim_due`` handed out (state,
        attempts, next_at, last_*); False, and nothing stored, when that claim no longer holds
        (its lease passed and the delivery was claimed again)."""
        ...

    def for_job(self, job_id: str) -> list[WebhookDelivery]: ...
