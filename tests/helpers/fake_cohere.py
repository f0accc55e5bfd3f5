"""A local HTTP server speaking Cohere's documented wire format (v2 rerank, v1 models).

The production client (``cohere.ClientV2``) talks to it through CATALYST_COHERE_BASE_URL; the
test switches ``mode`` to make it answer 429, 500, 401 or too slowly.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.helpers.http import JsonHandler, LocalServer


class FakeCohere:
    def __init__(self, *, api_key: str = "test-key") -> None:
        self.api_key = api_key
        self.mode = "ok"  # ok | 429 | 500 | 401 | timeout
        self.delay_s = 3.0
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(JsonHandler):
            _send = JsonHandler.send_json

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                auth = self.headers.get("authorization", "")
                fake.requests.append({"path": self.path, "auth": auth, "body": None})
                if not self.path.startswith("/v1/models"):
                    self._send(404, {"message": f"no route {self.path}"})
                elif auth != f"Bearer {fake.api_key}":
                    self._send(401, {"message": "invalid api token"})
                else:
                    model = {"name": "rerank-v3.5", "endpoints": ["rerank"], "context_length": 4096}
                    self._send(200, {"models": [model]})

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.read_json()
                auth = self.headers.get("authorization", "")
                fake.requests.append({"path": self.path, "auth": auth, "body": body})
                key_ok = auth == f"Bearer {fake.api_key}"
                if self.path == "/v1/check-api-key":
                    self._send(200, {"valid": key_ok})
                elif self.path == "/v2/rerank":
                    self._rerank(body, key_ok)
                else:
                    self._send(404, {"message": f"no route {self.path}"})

            def _rerank(self, body: dict[str, Any], key_ok: bool) -> None:
                if not key_ok or fake.mode == "401":
                    self._send(401, {"message": "invalid api token"})
                elif fake.mode == "429":
                    self._send(429, {"message": "You are using a Trial key, limited to 10 calls"})
                elif fake.mode == "500":
                    self._send(500, {"message": "internal server error"})
                else:
                    if fake.mode == "timeout":
                        time.sleep(fake.delay_s)
                    self._send(200, rerank_response(body))

        self._local = LocalServer(Handler)
        self.url = self._local.base

    def rerank_calls(self) -> int:
        return sum(1 for r in self.requests if r["path"] == "/v2/rerank")

    def __enter__(self) -> FakeCohere:
        self._local.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._local.stop()


def rerank_response(body: dict[str, Any]) -> dict[str, Any]:
    """Score = shared lowercase words between query and document (a stand-in model)."""
    words = set(str(body["query"]).lower().split())
    scored = [
        (len(words & set(str(doc).lower().split())) / (len(words) or 1), i)
        for i, doc in enumerate(body["documents"])
    ]
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    top_n = body.get("top_n") or len(scored)
    return {
        "id": str(uuid.uuid4()),
        "results": [{"index": i, "relevance_score": score} for score, i in scored[:top_n]],
        "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
    }
