"""Python SDK for the CatalystIndex search service: typed results over the HTTP API.

It speaks HTTP only and imports nothing of the service, so it installs and runs anywhere.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import requests

#: Job states after which a job changes no more.
TERMINAL = ("succeeded", "completed_with_errors", "failed")


class CatalystError(RuntimeError):
    """The service answered with an error; ``status`` and ``detail`` say which and why.

    ``status`` is 0 when no HTTP answer came at all (the service is down or unreachable).
    """

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}" if status else detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class SearchHit:
    document_id: str
    chunk_id: str
    score: float
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchResults:
    query_id: str
    hits: list[SearchHit]
    index_version: str | None
    timings_ms: dict[str, float]
    mode: str = "economy"
    track: str = "text"
    rerank_tier: str = "fused"
    degraded: bool = False
    degradation_reason: str | None = None
    debug: dict[str, Any] | None = None  # with ``debug=True``: ranks, scores, stages, query


@dataclass(frozen=True)
class JobAccepted:
    """An ingest request the service took: ``dispatch`` is ``outbox`` while its queue is down."""

    job_id: str
    status: str
    status_url: str
    dispatch: str = "queue"


@dataclass(frozen=True)
class IngestJob:
    """An ingest job as ``GET /ingest/jobs/{id}`` reports it; ``view`` is the whole answer."""

    job_id: str
    status: str
    documents_done: int
    documents_total: int | None
    sources: list[dict[str, Any]]
    view: dict[str, Any]

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL


class CatalystClient:
    """``CatalystClient("http://127.0.0.1:8000").search("type 2 diabetes", top_k=5)``."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        *,
        token: str | None = None,
        timeout_s: float = 30.0,
    ):
        """``token``: a JWT or an API key (default: ``CATALYST_API_TOKEN``), sent as Bearer."""
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._session = requests.Session()
        token = token or os.environ.get("CATALYST_API_TOKEN")
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self._session.request(
                method, f"{self.base_url}{path}", timeout=self.timeout_s, **kwargs
            )
        except requests.ConnectionError as exc:
            raise CatalystError(0, f"cannot reach {self.base_url}: is the service up?") from exc
        except requests.Timeout as exc:
            raise CatalystError(0, f"{self.base_url} did not answer in {self.timeout_s}s") from exc

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise CatalystError(response.status_code, str(detail))
        return response.json() if response.content else None

    def search(
        self,
        query: str,
        *,
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        mode: str = "economy",
        track: str = "text",
        retrieval: str = "hybrid",
        debug: bool = False,
    ) -> SearchResults:
        """Search; ``mode="premium"`` reranks, ``track`` picks text, vision or both."""
        body = {
            "query": query,
            "top_k": top_k,
            "filters": filters or {},
            "mode": mode,
            "track": track,
            "retrieval": retrieval,
            "debug": debug,
        }
        data = self._request("POST", "/search", json=body)
        return SearchResults(
            query_id=data["query_id"],
            hits=[SearchHit(**hit) for hit in data["results"]],
            index_version=data.get("index_version"),
            timings_ms=data.get("timings_ms", {}),
            mode=data.get("mode", mode),
            track=data.get("track", track),
            rerank_tier=data.get("rerank_tier", "fused"),
            degraded=bool(data.get("degraded", False)),
            degradation_reason=data.get("degradation_reason"),
            debug=data.get("debug"),
        )

    def ingest(self, sources: list[str], *, metadata: dict[str, Any] | None = None) -> JobAccepted:
        """Queue an ingest job for folders or JSONL files on the ingest host (absolute paths)."""
        body = {"sources": sources, "metadata": metadata or {}}
        data = self._request("POST", "/ingest/bulk", json=body)
        return JobAccepted(
            job_id=data["job_id"],
            status=data["status"],
            status_url=data["status_url"],
            dispatch=data.get("dispatch", "queue"),
        )

    def job(self, job_id: str) -> IngestJob:
        """An ingest job's status; ``CatalystError`` with status 404 for an unknown job."""
        data = self._request("GET", f"/ingest/jobs/{job_id}")
        progress = data.get("progress", {})
        return IngestJob(
            job_id=data["job_id"],
            status=data["status"],
            documents_done=int(progress.get("documents_done", 0)),
            documents_total=progress.get("documents_total"),
            sources=list(data.get("sources", [])),
            view=data,
        )

    def watch_job(self, job_id: str, *, interval_s: float = 1.0) -> Iterator[IngestJob]:
        """Yield the job each time it is polled, until it has finished (the last one yielded)."""
        while True:
            job = self.job(job_id)
            yield job
            if job.finished:
                return
            time.sleep(interval_s)

    def health(self) -> bool:
        return bool(self._request("GET", "/healthz").get("status") == "ok")

    def ready(self) -> dict[str, Any]:
        """Readiness; raises ``CatalystError`` with status 503 while no index is loaded."""
        result: dict[str, Any] = self._request("GET", "/readyz")
        return result

    def readiness(self) -> dict[str, Any]:
        """The readiness report whether or not an index is loaded (``ready`` says which)."""
        response = self._send("GET", "/readyz")
        if response.status_code not in (200, 503):
            raise CatalystError(response.status_code, response.text[:200])
        result: dict[str, Any] = response.json()
        return result

    def create_key(self, tenant_id: str, roles: list[str], *, label: str = "") -> dict[str, Any]:
        """A new API key (admin). The result's ``key`` is shown this once."""
        body = {"tenant_id": tenant_id, "roles": roles, "label": label}
        result: dict[str, Any] = self._request("POST", "/admin/keys", json=body)
        return result

    def list_keys(self, tenant_id: str | None = None) -> list[dict[str, Any]]:
        """Every API key, or one tenant's (admin); never the keys themselves."""
        params = {"tenant_id": tenant_id} if tenant_id else None
        result: list[dict[str, Any]] = self._request("GET", "/admin/keys", params=params)
        return result

    def revoke_key(self, key_id: str) -> None:
        """Revoke an API key at once (admin)."""
        self._request("DELETE", f"/admin/keys/{key_id}")

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> CatalystClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
