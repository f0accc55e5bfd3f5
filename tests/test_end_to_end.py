"""Processes as a user runs them: ``catalystctl serve`` answers while ``catalystctl ingest``
writes from another process, and serves the new documents once that ingest has published."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from catalyst_search.client import CatalystClient
from tests.conftest import icd_records, write_jsonl

CTL = [sys.executable, "-m", "catalyst_search.cli"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=1).ok:
                return
        except requests.ConnectionError:
            time.sleep(0.3)
    raise AssertionError("search service did not answer /healthz")


def _wait_ready(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "search service exited"
        try:
            if requests.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    raise AssertionError("search service did not become ready")


@pytest.fixture
def env(catalyst_home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CATALYST_INDEX_REFRESH_S": "0.2",
        "CATALYST_INGEST_MODE": "sync",
        # one client searches back to back for the whole ingest: faster than the default
        # 600/minute; this test is about availability during a publish, not the limiter
        "CATALYST_RATE_SEARCH": "100000/minute",
    }


def test_search_keeps_answering_during_an_ingest_and_sees_it_after_publish(tmp_path, env):
    first = write_jsonl(tmp_path / "thyroid.jsonl", icd_records(prefix="E0"))
    later_records = icd_records(prefix="E66")  # obesity codes: absent from the first source
    later = write_jsonl(tmp_path / "obesity.jsonl.gz", later_records, gz=True)
    done = subprocess.run(
        [*CTL, "ingest", str(first), "--wait"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "documents_new: " in done.stdout

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    service = subprocess.Popen(
        [*CTL, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_ready(url, service)
        version_before = requests.get(f"{url}/readyz", timeout=5).json()["index_version"]
        ingest = subprocess.Popen(
            [*CTL, "ingest", str(later), "--wait"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        statuses: list[int] = []
        query = {"query": "obesity due to excess calories", "top_k": 5}
        while ingest.poll() is None:
            statuses.append(requests.post(f"{url}/search", json=query, timeout=30).status_code)
        output = ingest.stdout.read() if ingest.stdout else ""
        assert ingest.returncode == 0, output[-3000:]
        assert "embedded" in output  # progress lines from the run
        assert len(statuses) > 10
        assert set(statuses) == {200}

        found: list[str] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(d.startswith("E66") for d in found):
            body = requests.post(f"{url}/search", json=query, timeout=30).json()
            found = [r["document_id"] for r in body["results"]]
            time.sleep(0.2)
        assert found[0].startswith("E66"), found
        assert body["index_version"] != version_before

        with CatalystClient(url) as sdk:
            explained = sdk.search("obesity due to excess calories", top_k=3, debug=True)
        assert explained.hits[0].document_id.startswith("E66")
        assert (
            explained.debug
            and explained.debug["results"][0]["chunk_id"] == explained.hits[0].chunk_id
        )
        assert (explained.rerank_tier, explained.degraded) == ("fused", False)

        cli = subprocess.run(
            [*CTL, "search", "obesity due to excess calories", "--top-k", "3", "--url", url],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cli.returncode == 0, cli.stderr
        assert "E66" in cli.stdout.splitlines()[0]
    finally:
        service.terminate()
        service.wait(timeout=30)
