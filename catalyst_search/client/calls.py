"""Each call of the HTTP API described once, for the sync and the async client alike: the
request, whether it is safe to repeat, which statuses are answers, and how to read them."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypedDict

import httpx
from typing_extensions import Unpack

from catalyst_search.client.errors import JobTimeout
from catalyst_search.client.feedback_models import FeedbackAnalytics, FeedbackRecorded
from catalyst_search.client.models import IngestJob, JobAccepted, JobPage, SearchResults
from catalyst_search.client.retries import Attempts, RetryPolicy


def _json(response: httpx.Response) -> Any:
    return response.json() if response.content else None


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    parse: Callable[[httpx.Response], Any] = _json
    json: Any = None
    params: dict[str, Any] | None = None
    idempotent: bool = True  # safe to send again after it may have reached the service
    answers: frozenset[int] = field(default_factory=frozenset)  # error statuses that are answers
    #: a delete: a 404 after a try that may have reached the service is that try's success
    gone_is_done: bool = False

    def answered(self, response: httpx.Response, attempts: Attempts | None = None) -> bool:
        """Whether ``response`` is this call's answer (a success, or a status it expects)."""
        if response.status_code < 400 or response.status_code in self.answers:
            return True
        landed = attempts is not None and attempts.may_have_landed
        return self.gone_is_done and response.status_code == 404 and landed


class SearchOptions(TypedDict, total=False):
    """The optional fields of ``POST /search`` (the service's defaults when left out)."""

    top_k: int  # 10
    filters: dict[str, Any]  # payload filters: icd_codes, icd_prefix, should, must_not, ...
    mode: str  # economy | premium
    track: str  # text | vision | hybrid
    retrieval: str  # hybrid | dense | sparse
    debug: bool  # add the bundle that explains every result


def search(query: str, **options: Unpack[SearchOptions]) -> Call:
    body = {"query": query, **options}
    return Call("POST", "/search", lambda r: SearchResults.from_json(r.json()), json=body)


def _accepted(response: httpx.Response) -> JobAccepted:
    return JobAccepted.from_json(response.json())


def _job(response: httpx.Response) -> IngestJob:
    return IngestJob.from_json(response.json())


def submit_ingest(
    sources: list[str], metadata: dict[str, Any] | None = None, webhook_url: str | None = None
) -> Call:
    body: dict[str, Any] = {"sources": sources, "metadata": metadata or {}}
    if webhook_url:
        body["webhook_url"] = webhook_url
    return Call("POST", "/ingest/bulk", _accepted, json=body, idempotent=False)


def job(job_id: str) -> Call:
    return Call("GET", f"/ingest/jobs/{job_id}", _job)


def list_jobs(status: str | None, limit: int, cursor: str | None) -> Call:
    params: dict[str, Any] = {"limit": limit}
    params |= {"status": status} if status else {}
    params |= {"cursor": cursor} if cursor else {}
    return Call("GET", "/ingest/jobs", lambda r: JobPage.from_json(r.json()), params=params)


def cancel_job(job_id: str) -> Call:
    """Safe to repeat: cancelling a cancelled job answers its view again."""
    return Call("POST", f"/ingest/jobs/{job_id}/cancel", _job)


def retry_job(job_id: str) -> Call:
    return Call("POST", f"/ingest/jobs/{job_id}/retry", _accepted, idempotent=False)


def submit_feedback(
    query_id: str,
    *,
    rating: int,
    chunk_id: str | None,
    document_id: str | None,
    event: str,
    comment: str,
) -> Call:
    """Safe to repeat: the same feedback is recorded once."""
    body: dict[str, Any] = {"query_id": query_id, "rating": rating, "event": event}
    body |= {"chunk_id": chunk_id} if chunk_id else {}
    body |= {"document_id": document_id} if document_id else {}
    body |= {"comment": comment} if comment else {}
    return Call("POST", "/feedback", lambda r: FeedbackRecorded.from_json(r.json()), json=body)


def feedback_analytics(start: str | None, end: str | None, bucket: str) -> Call:
    params: dict[str, Any] = {"bucket": bucket}
    params |= {"from": start} if start else {}
    params |= {"to": end} if end else {}
    parse: Callable[[httpx.Response], Any] = lambda r: FeedbackAnalytics.from_json(r.json())  # noqa: E731
    return Call("GET", "/feedback/analytics", parse, params=params)


def boost_versions() -> Call:
    return Call("GET", "/feedback/boosts")


def activate_boosts(version: str) -> Call:
    return Call("POST", f"/feedback/boosts/{version}/activate")


def index_info() -> Call:
    return Call("GET", "/index")


def webhook_secret() -> Call:
    return Call("GET", "/webhooks/secret", lambda r: str(r.json()["secret"]))


def job_events(job_id: str) -> Call:
    return Call("GET", f"/ingest/jobs/{job_id}/events")


def health() -> Call:
    return Call("GET", "/healthz", lambda r: r.json().get("status") == "ok")


def readiness(*, ready_only: bool) -> Call:
    """``/readyz``; 503 (no index loaded) is an answer unless ``ready_only``."""
    return Call("GET", "/readyz", answers=frozenset() if ready_only else frozenset({503}))


def create_key(tenant_id: str, roles: list[str], label: str) -> Call:
    body = {"tenant_id": tenant_id, "roles": roles, "label": label}
    return Call("POST", "/admin/keys", json=body, idempotent=False)


def list_keys(tenant_id: str | None) -> Call:
    return Call("GET", "/admin/keys", params={"tenant_id": tenant_id} if tenant_id else None)


def revoke_key(key_id: str) -> Call:
    return Call("DELETE", f"/admin/keys/{key_id}", lambda r: None, gone_is_done=True)


def next_poll_s(
    job: IngestJob, *, interval_s: float, deadline: float | None, timeout_s: float | None
) -> float:
    """Seconds until ``wait_for_job`` polls an unfinished ``job`` again; ``JobTimeout`` (with
    the job) once ``deadline`` (a ``time.monotonic()``) has passed."""
    if deadline is None:
        return interval_s
    wait = min(interval_s, deadline - time.monotonic())
    if wait <= 0:
        raise JobTimeout(job, timeout_s or 0.0)
    return wait


class ClientBase:
    """What both clients hold: where the service is, the credential, the timeout and retries."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        *,
        token: str | None = None,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
    ):
        """``token``: a JWT or an API key (default: ``CATALYST_API_TOKEN``), sent as Bearer."""
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        token = token or os.environ.get("CATALYST_API_TOKEN")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._connect()

    def _connect(self) -> None:
        """Open the HTTP client (sync or async)."""
        raise NotImplementedError

    def attempts(self, call: Call) -> Attempts:
        return Attempts(call, self.retry, base_url=self.base_url, timeout_s=self.timeout_s)

    @staticmethod
    def deadline(timeout_s: float | None) -> float | None:
        return None if timeout_s is None else time.monotonic() + timeout_s
