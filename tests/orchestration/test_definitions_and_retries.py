"""The code location loads, and a transient failure in the index step is retried."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg

from catalyst_orchestration.definitions import defs
from tests.conftest import ROOT, icd_records, write_jsonl
from tests.orchestration.helpers import index_locked_until_a_retry, ingest


def test_definitions_are_loadable():
    definitions = defs()
    dg.Definitions.validate_loadable(definitions)
    job = definitions.resolve_job_def("ingest")
    assert job.partitions_def is not None
    keys = {key.to_user_string() for key in definitions.resolve_all_asset_keys()}
    assert keys == {"raw_documents", "parsed_documents", "chunks", "index", "feedback_events",
                    "relevance_boosts", "live_boosts"}  # fmt: skip
    assert definitions.resolve_job_def("tune_relevance").partitions_def is None
    assert definitions.resolve_job_def("drain_feedback").partitions_def is not None


def test_the_definitions_load_without_the_heavy_libraries():
    """Every run process, the daemon and the webserver load the definitions: the libraries
    only some steps need are imported by those steps (pandas alone took 0.3 s of 1.55)."""
    heavy = ["pandas", "pyarrow", "torch", "qdrant_client", "onnxruntime", "trafilatura"]
    code = (
        "import sys; from catalyst_orchestration.definitions import defs; defs(); "
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert found.returncode == 0, found.stderr[-2000:]
    assert found.stdout.strip() == "[]"


def test_dagster_cli_validates_the_workspace(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env={"DAGSTER_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "passed validation" in result.stderr + result.stdout


def test_index_step_retries_while_another_writer_holds_the_lock(
    catalyst_home, tmp_path, monkeypatch
):
    """Another writer holds the index lock until the index step has failed once (a transient
    error); the step then retries under its RetryPolicy and succeeds."""
    monkeypatch.setenv("CATALYST_WRITER_LOCK_TIMEOUT_S", "0.2")
    source = write_jsonl(tmp_path / "r.jsonl", icd_records(limit=10))
    with dg.instance_for_test() as instance, index_locked_until_a_retry(instance):
        result, meta = ingest(source, instance)
    assert result.success
    retries = [
        e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY
    ]
    assert retries and all(e.step_key == "index" for e in retries)
    assert meta["documents_new"] == 10
