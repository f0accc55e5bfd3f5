"""Python SDK for the CatalystIndex search service: typed results over the HTTP API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests


class CatalystError(RuntimeError):
    """The service answered with an error; ``status`` and ``detail`` say which and why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
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


class CatalystClient:
    """``CatalystClient("http://127.0.0.1:8000").search("type 2 diabetes", top_k=5)``."""

    def __init__(self, base_url: str = "http://127.0.0.1:8000", *, timeout_s: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._session = requests.Session()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._session.request(
            method, f"{self.base_url}{path}", timeout=self.timeout_s, **kwargs
        )
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise CatalystError(response.status_code, str(detail))
        return response.json()

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

    def health(self) -> bool:
        return bool(self._request("GET", "/healthz").get("status") == "ok")

    def ready(self) -> dict[str, Any]:
        """Readiness; raises ``CatalystError`` with status 503 while no index is loaded."""
        result: dict[str, Any] = self._request("GET", "/readyz")
        return result

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> CatalystClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
