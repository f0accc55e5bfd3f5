"""Real services for tests: the machine's Redis, or a private redis-server on a free port.

Outside CI a test that needs a service the machine lacks is skipped; with CI=true it fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

MACHINE_REDIS = os.environ.get("CATALYST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def require(condition: bool, why: str) -> None:
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why} (CI=true: service tests must run, not skip)")
    pytest.skip(why)


def machine_redis() -> redis.Redis:
    client = redis.Redis.from_url(MACHINE_REDIS, socket_connect_timeout=2, decode_responses=True)
    try:
        client.ping()
    except redis.ConnectionError:
        require(False, f"Redis is not reachable at {MACHINE_REDIS}")
    return client


def unique_prefix() -> str:
    return f"catalyst-test-{uuid.uuid4().hex[:12]}"


def delete_prefix(client: redis.Redis, prefix: str) -> None:
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def private_redis(port: int) -> Iterator[redis.Redis]:
    """A throwaway redis-server on ``port`` (nothing persisted), stopped on exit."""
    binary = shutil.which("redis-server")
    require(binary is not None, "redis-server is not installed")
    assert binary is not None
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_connect_timeout=1, decode_responses=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield client
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def private_pushgateway(port: int) -> Iterator[str]:
    """Debian's prometheus-pushgateway on ``port`` (in memory), stopped on exit."""
    from monitoring.stack import running_pushgateway

    require(shutil.which("prometheus-pushgateway") is not None, "prometheus-pushgateway is missing")
    with running_pushgateway(port) as url:
        yield url


@contextmanager
def private_prometheus(config: dict, data_dir: Path) -> Iterator[str]:
    """Debian's prometheus with ``config`` on a free port, its data in ``data_dir``."""
    from monitoring.stack import running_prometheus

    require(shutil.which("prometheus") is not None, "prometheus is not installed")
    with running_prometheus(config, port=free_port(), data_dir=data_dir) as url:
        yield url
