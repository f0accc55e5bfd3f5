"""A local HTTP server speaking OpenAI's embeddings wire format (POST /v1/embeddings)."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


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

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
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

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
