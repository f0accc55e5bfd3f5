"""``catalystctl serve`` on a free loopback port for a benchmark, stopped on exit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Service:
    url: str
    pid: int


@contextmanager
def running_service(home: Path, env: dict[str, str] | None = None) -> Iterator[Service]:
    """The search service over ``home`` with ``env`` on top of ours; ready when yielded.
    Its output goes to ``<home>/service.log``."""
    port = free_port()
    full_env = {**os.environ, "CATALYST_HOME": str(home), **(env or {})}
    with open(home / "service.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "catalyst_search.cli", "serve", "--port", str(port)],
            env=full_env,
            stdout=log,
            stderr=log,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    if requests.get(f"{url}/readyz", timeout=1).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the service did not start: see {home / 'service.log'}")
                time.sleep(0.2)
            yield Service(url, proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
