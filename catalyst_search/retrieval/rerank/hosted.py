"""Hosted tiers: Cohere Rerank through the ``cohere`` SDK, and an OpenAI-embeddings reranker."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import numpy as np
import requests

from catalyst_search.retrieval.rerank.base import RerankUnavailable, reason_for_status


class CohereReranker:
    """Cohere Rerank (v2 API). No SDK retries: a failure degrades at once to the next tier."""

    tier = "cohere"
    hosted = True

    def __init__(self, *, api_key: str, base_url: str | None, model: str, timeout_s: float) -> None:
        import cohere

        self._cohere = cohere
        self.model = model
        self.timeout_s = timeout_s
        self._client = cohere.ClientV2(
            api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0
        )

    def check_credentials(self) -> None:
        """Raise ``RerankUnavailable`` (``invalid_credentials`` when Cohere rejects the key).

        Lists one rerank model (``GET /v1/models``): authenticated, cheap, and it also tells
        whether the endpoint answers at all.
        """
        try:
            self._client.models.list(page_size=1, endpoint="rerank")
        except Exception as exc:
            raise self._unavailable(exc) from exc

    def rerank(
        self, query: str, documents: Sequence[str], *, ids: Sequence[str] = ()
    ) -> list[tuple[int, float]]:
        try:
            response = self._client.rerank(
                model=self.model, query=query, documents=list(documents), top_n=len(documents)
            )
        except Exception as exc:
            raise self._unavailable(exc) from exc
        return [(r.index, float(r.relevance_score)) for r in response.results]

    def _unavailable(self, exc: Exception) -> RerankUnavailable:
        if isinstance(exc, httpx.TimeoutException):
            return RerankUnavailable("timeout", f"no answer within {self.timeout_s}s")
        if isinstance(exc, httpx.TransportError):
            return RerankUnavailable("unreachable", str(exc))
        status = getattr(exc, "status_code", None)
        if isinstance(status, int):
            return RerankUnavailable(reason_for_status(status), type(exc).__name__)
        return RerankUnavailable("error", f"{type(exc).__name__}: {exc}")


class OpenAIEmbeddingReranker:
    """Cosine between OpenAI embeddings of the query and of each candidate."""

    tier = "openai"
    hosted = True

    def __init__(self, *, api_key: str, base_url: str, model: str, timeout_s: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout_s = timeout_s
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {api_key}"

    def rerank(
        self, query: str, documents: Sequence[str], *, ids: Sequence[str] = ()
    ) -> list[tuple[int, float]]:
        try:
            response = self._session.post(
                f"{self.base_url}/embeddings",
                json={"model": self.model, "input": [query, *documents]},
                timeout=self.timeout_s,
            )
        except requests.Timeout as exc:
            raise RerankUnavailable("timeout", f"no answer within {self.timeout_s}s") from exc
        except requests.RequestException as exc:
            raise RerankUnavailable("unreachable", str(exc)) from exc
        if response.status_code != 200:
            raise RerankUnavailable(reason_for_status(response.status_code), response.text[:200])
        data = sorted(response.json()["data"], key=lambda item: item["index"])
        vectors = np.asarray([item["embedding"] for item in data], dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12
        scores = vectors[1:] @ vectors[0]
        order = np.argsort(-scores, kind="stable")
        return [(int(i), float(scores[i])) for i in order]
