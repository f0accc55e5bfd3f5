"""``CatalystClient``: the search service's HTTP API as Python calls with typed answers."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import requests

from catalyst_search.client.models import (
    CatalystError,
    IngestJob,
    JobAccepted,
    JobTimeout,
    SearchHit,
    SearchResults,
)


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

    def submit_ingest(
        self, sources: list[str], *, metadata: dict[str, Any] | None = None
    ) -> JobAccepted:
        """Queue an ingest job for folders or JSONL files on the ingest host (absolute paths)."""
        body = {"sources": sources, "metadata": metadata or {}}
        data = self._request("POST", "/ingest/bulk", json=body)
        return JobAccepted(
            job_id=data["job_id"],
            status=data["status"],
            status_url=data["status_url"],
            dispatch=data.get("dispatch", "queue"),
        )

    ingest = submit_ingest

    def job(self, job_id: str) -> IngestJob:
        """An ingest job: status, progress, and per source its runs, retries and failed
        documents. ``CatalystError`` with status 404 for an unknown job."""
        return IngestJob.from_json(self._request("GET", f"/ingest/jobs/{job_id}"))

    def watch_job(self, job_id: str, *, interval_s: float = 1.0) -> Iterator[IngestJob]:
        """Yield the job each time it is polled, until it has finished (the last one yielded)."""
        while True:
            job = self.job(job_id)
            yield job
            if job.finished:
                return
            time.sleep(interval_s)

    def wait_for_job(
        self, job_id: str, *, timeout_s: float | None = None, interval_s: float = 1.0
    ) -> IngestJob:
        """The job once it has finished, polled every ``interval_s``; ``JobTimeout`` (with the
        last state seen) once ``timeout_s`` seconds have passed, if given."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            job = self.job(job_id)
            if job.finished:
                return job
            wait = interval_s
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    raise JobTimeout(job, timeout_s or 0.0)
            time.sleep(wait)

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
