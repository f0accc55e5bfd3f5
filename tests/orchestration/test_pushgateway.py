"""Ingestion runs push documents, chunks, failures by class, retries and duration."""

from __future__ import annotations

import dagster as dg
import requests

from tests.conftest import icd_records
from tests.helpers.services import free_port, private_pushgateway
from tests.orchestration.helpers import ingest


def test_run_counters_reach_the_pushgateway(catalyst_home, tmp_path, monkeypatch):
    import json

    source = tmp_path / "records.jsonl"
    lines = [json.dumps(r) for r in icd_records(limit=7)] + ['{"id": "broken"']
    source.write_text("\n".join(lines) + "\n")
    with private_pushgateway(free_port()) as url:
        monkeypatch.setenv("CATALYST_PUSHGATEWAY_URL", url)
        with dg.instance_for_test() as instance:
            result, meta = ingest(source, instance)
        assert result.success
        exposition = requests.get(f"{url}/metrics", timeout=5).text
    samples = [line for line in exposition.splitlines() if line.startswith("catalyst_ingest_")]

    def value(name: str, *labels: str) -> float:
        for line in samples:
            if line.startswith(name + "{") and all(label in line for label in labels):
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError(f"{name} {labels} not pushed: {samples}")

    assert value("catalyst_ingest_documents", 'outcome="new"', 'tenant_id="default"') == 7
    assert value("catalyst_ingest_documents", 'outcome="failed"') == 1
    assert (
        value("catalyst_ingest_failures", 'failure_class="permanent"', 'error="MalformedRecord"')
        == 1
    )
    assert value("catalyst_ingest_chunks", 'action="written"') == meta["chunks_written"]
    assert value("catalyst_ingest_retries", 'level="step"') == 0
    assert value("catalyst_ingest_duration_seconds") > 0
