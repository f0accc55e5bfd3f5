"""A local HTTP server speaking OpenAI's embeddings wire format (POST /v1/embeddings)."""

from __future__ import annotations

import hashlib
from typing import Any

from tests.helpers.http import JsonHandler, LocalServer


def _embedding(text: str, size: int = 16) -> list[float]:
    """Bag of hashed words: texts sharing words get similar vectors (a stand-in model)."""
    vector = [0.0] * size
    for word in text.lower().split():
        vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % size] += 1.0
    return vector


class FakeOpenAI:
    def __init__(self, *, api_key: str = "sk-test") -> None:
        self.api_key = api_key
        self.mode = "ok"  # ok | 429 | 500
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(JsonHandler):
            _send = JsonHandler.send_json

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.read_json()
                auth = self.headers.get("authorization", "")
                fake.requests.append({"path": self.path, "auth": auth, "body": body})
                if self.path != "/v1/embeddings":
                    self._send(404, {"error": {"message": "not found"}})
                elif auth != f"Bearer {fake.api_key}":
                    self._send(401, {"error": {"message": "Incorrect API key provided"}})
                elif fake.mode in ("429", "500"):
                    self._send(int(fake.mode), {"error": {"message": "try again later"}})
                else:
                    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                    data = [
                        {"object": "embedding", "index": i, "embedding": _embedding(text)}
                        for i, text in enumerate(inputs)
                    ]
                    usage = {"prompt_tokens": 1, "total_tokens": 1}
                    self._send(
                        200,
                        {"object": "list", "data": data, "model": body["model"], "usage": usage},
                    )

        self._local = LocalServer(Handler)
        self.url = f"{self._local.base}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._local.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._local.stop()
