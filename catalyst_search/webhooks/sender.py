"""Deliver the webhooks that are due: sign, post, record, and schedule the next attempt.

A delivery is a POST of the job-finished payload (JSON) with ``Catalyst-Signature``,
``Catalyst-Delivery`` and ``Catalyst-Event`` headers, sent to the address the outbound policy
checked (no second DNS lookup, no proxy from the environment). Any 2xx delivers it; the body of
the answer is not read. A refused URL (outbound policy) and a 410 Gone end it as ``failed`` at
once; any other answer, a timeout or a connection error is retried after
``backoff * 2^(attempt-1)`` seconds with jitter (or the receiver's ``Retry-After``, when longer)
until the attempts run out. Redirects are not followed. Receivers should drop a repeated
``Catalyst-Delivery`` id: a delivery whose answer was lost is sent again.

An attempt has ``timeout_s`` in all, however slowly the receiver answers (``Deadline``; the name
lookup before it aside). A pass claims no more deliveries than it can attempt in ``pass_s``,
half their lease, and when one ran long (a slow lookup, a slow store) it hands the ones it has
not attempted back as due rather than start them late. Should a pass still outlive its lease,
its outcomes are not recorded over the newer sender's: ``record`` checks the claim.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx

from catalyst_search.client.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    signature_header,
)
from catalyst_search.ingest_requests.jobs import Job, JobStore
from catalyst_search.outbound import OutboundPolicy, OutboundRefused, ResolutionUnavailable
from catalyst_search.settings import Settings
from catalyst_search.webhooks.deadline import Deadline
from catalyst_search.webhooks.deliveries import LEASE_S, DeliveryStore, WebhookDelivery

log = logging.getLogger("catalyst_search.webhooks")
EVENT = "job.finished"
MAX_RETRY_AFTER_S = 3600.0
#: A pass attempts what it can in this long at most: half the lease its deliveries are under.
PASS_S = LEASE_S / 2


def tenant_secret(master: str, tenant_id: str) -> str:
    """The secret ``tenant_id``'s receivers verify with: derived, so nothing is stored and no
    tenant can sign for another."""
    return hmac.new(master.encode(), f"webhook:{tenant_id}".encode(), hashlib.sha256).hexdigest()


def payload(job: Job, delivery_id: str) -> dict[str, Any]:
    """What a receiver gets when the job ends."""
    return {
        "type": EVENT,
        "delivery_id": delivery_id,
        "job": {
            "job_id": job.job_id,
            "tenant_id": job.tenant_id,
            "status": job.status,
            "documents_done": job.docs_done,
            "documents_total": job.docs_total,
            "sources": [
                {
                    "source": run.source,
                    "status": run.status,
                    "attempts": run.attempts,
                    "failures": len(run.failures),
                    "error": run.error,
                }
                for run in job.runs
            ],
            "metadata": job.metadata,
            "created_at": job.created_at,
            "updated_at": job.updated_at,
        },
    }


@dataclass
class Delivered:
    """What one pass did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0


class WebhookSender:
    def __init__(
        self,
        jobs: JobStore,
        *,
        master_secret: str | None,
        policy: OutboundPolicy,
        attempts: int = 6,
        backoff_s: float = 5.0,
        timeout_s: float = 10.0,
        pass_s: float = PASS_S,
    ) -> None:
        self.jobs = jobs
        self.deliveries: DeliveryStore = jobs.webhooks
        self.master_secret = master_secret
        self.policy = policy
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.pass_s = pass_s

    @classmethod
    def from_settings(cls, settings: Settings, jobs: JobStore) -> WebhookSender:
        secret = settings.webhook_secret
        return cls(
            jobs,
            master_secret=secret.get_secret_value() if secret else None,
            policy=settings.outbound_policy,
            attempts=settings.webhook_attempts,
            backoff_s=settings.webhook_backoff_s,
            timeout_s=settings.webhook_timeout_s,
        )

    def deliver_due(self, *, limit: int = 50) -> Delivered:
        """Attempt up to ``limit`` due deliveries (fewer when their timeouts would outlast
        ``pass_s``)."""
        done = Delivered()
        limit = min(limit, max(1, int(self.pass_s // self.timeout_s)))
        started = time.monotonic()
        due = self.deliveries.claim_due(time.time(), limit=limit)
        if not due:
            return done
        client = httpx.Client(  # no kept-alive connection: it is pooled by address, and one
            timeout=self.timeout_s,  # verified for one host name would serve another's on it
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        with client:
            for n, delivery in enumerate(due):
                if n and time.monotonic() - started > self.pass_s - self.timeout_s:
                    self._hand_back(due[n:])
                    break
                try:
                    self._attempt(client, delivery)
                except Exception as exc:  # one bad delivery must not stop the others
                    log.exception("webhook %s: attempt failed unexpectedly", delivery.delivery_id)
                    # the tenant sees the kind of error only; the detail is in the log
                    self._retry_later(delivery, f"{type(exc).__name__} (see the service log)", 0.0)
                if not self.deliveries.record(delivery):
                    log.warning(
                        "webhook %s: its lease passed to another sender before this attempt "
                        "was recorded; the other sender's record stands",
                        delivery.delivery_id,
                    )
                    continue
                if delivery.state == "delivered":
                    done.delivered += 1
                elif delivery.state == "failed":
                    done.failed += 1
                else:
                    done.retrying += 1
        return done

    def _hand_back(self, deliveries: list[WebhookDelivery]) -> None:
        """Claimed but not attempted: due again now, for the next pass (or another sender)."""
        log.info("webhooks: the pass ran long; %d deliveries handed back", len(deliveries))
        for delivery in deliveries:
            delivery.next_at = time.time()
            self.deliveries.record(delivery)

    def _attempt(self, client: httpx.Client, delivery: WebhookDelivery) -> None:
        """One attempt; sets the delivery's state, attempts, next_at and last_* fields."""
        delivery.attempts += 1
        delivery.last_status = None
        job = self.jobs.get(delivery.job_id)
        if job is None or not self.master_secret:
            why = "its job is gone" if job is None else "CATALYST_WEBHOOK_SECRET is unset"
            return self._end(delivery, f"not delivered: {why}")
        try:
            pinned = self.policy.pin(delivery.url)
        except ResolutionUnavailable as exc:  # DNS failing for now: a refusal it is not
            return self._retry_later(delivery, f"not resolved: {exc}", 0.0)
        except OutboundRefused as exc:
            return self._end(delivery, f"refused: {exc}")
        body = json.dumps(payload(job, delivery.delivery_id), sort_keys=True).encode()
        secret = tenant_secret(self.master_secret, job.tenant_id)
        headers = {
            **pinned.headers,
            "Content-Type": "application/json",
            "User-Agent": "CatalystIndex-Webhooks/1",
            SIGNATURE_HEADER: signature_header(secret, int(time.time()), body),
            DELIVERY_HEADER: delivery.delivery_id,
            EVENT_HEADER: EVENT,
        }
        deadline = Deadline(self.timeout_s)
        request = client.build_request(
            "POST",
            pinned.url,
            content=body,
            headers=headers,
            extensions={**pinned.extensions, "trace": deadline.trace},
        )
        try:
            with deadline:
                answer = client.send(request, stream=True)  # the status is all we read
                answer.close()
        except httpx.HTTPError as exc:
            error = (
                f"no answer within {self.timeout_s:g}s in all"
                if deadline.expired
                else f"{type(exc).__name__}: {exc}"
            )
            return self._retry_later(delivery, error[:500], 0.0)
        delivery.last_status = answer.status_code
        if answer.is_success:
            delivery.state, delivery.next_at, delivery.last_error = "delivered", None, None
            return None
        if answer.status_code == 410:
            return self._end(delivery, "the receiver answered 410 Gone")
        redirect = " (redirects are not followed)" if answer.is_redirect else ""
        retry_after = _retry_after(answer.headers.get("Retry-After"))
        return self._retry_later(delivery, f"HTTP {answer.status_code}{redirect}", retry_after)

    def _retry_later(self, delivery: WebhookDelivery, error: str, retry_after: float) -> None:
        """Schedule the next attempt with backoff and jitter, or fail it with none left."""
        delivery.last_error = error
        if delivery.attempts >= self.attempts:
            return self._end(delivery, f"{error}; no attempts left")
        wait = self.backoff_s * 2 ** (delivery.attempts - 1) * random.uniform(0.5, 1.0)
        delivery.state, delivery.next_at = "pending", time.time() + max(wait, retry_after)
        log.info(
            "webhook %s: attempt %d failed (%s)", delivery.delivery_id, delivery.attempts, error
        )
        return None

    def _end(self, delivery: WebhookDelivery, error: str) -> None:
        delivery.state, delivery.next_at, delivery.last_error = "failed", None, error[:500]
        log.warning("webhook %s failed: %s", delivery.delivery_id, error)


def _retry_after(value: str | None) -> float:
    """Seconds from a ``Retry-After`` given in seconds (dates are treated as absent)."""
    try:
        return min(max(float(value or 0), 0.0), MAX_RETRY_AFTER_S)
    except ValueError:
        return 0.0
