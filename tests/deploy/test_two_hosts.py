"""Two hosts, nothing shared on local disk: two processes with different, empty
``CATALYST_HOME``s ingest the same S3 prefix into the same server index (qdrant-client's local
mode, one process at a time), with the manifest and index metadata in the same PostgreSQL
database and artifacts on the same S3 (moto on loopback). Each sees what the other did."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from qdrant_client import QdrantClient, models

from tests.conftest import ROOT
from tests.helpers.s3 import moto_s3
from tests.helpers.services import delete_prefix, machine_redis, unique_prefix
from tests.orchestration.helpers import LONG_TEXT
from tests.orchestration.test_postgres_instance import pg_database  # noqa: F401  (fixture)

BUCKET = "acme-docs"
SOURCE = f"s3://{BUCKET}/tenants/default/kb"


@pytest.fixture
def shared(tmp_path, monkeypatch, pg_database):  # noqa: F811
    redis = machine_redis()
    prefix = unique_prefix()
    with moto_s3(monkeypatch) as s3:
        s3.create_bucket(Bucket=BUCKET)
        s3.create_bucket(Bucket="acme-artifacts")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CATALYST_")} | {
            "CATALYST_PROFILE": "production",
            "CATALYST_INDEX_BACKEND": "server",
            "CATALYST_QDRANT_URL": f"path:{tmp_path / 'qdrant'}",
            "CATALYST_STATE_URL": pg_database,
            "CATALYST_ARTIFACT_STORE": "s3://acme-artifacts/catalyst",
            "CATALYST_QUEUE": "redis://127.0.0.1:6379/0",
            "CATALYST_REDIS_PREFIX": prefix,
            "CATALYST_SOURCE_ROOTS": f"s3://{BUCKET}/tenants/{{tenant}}",
        }
        yield s3, env, tmp_path
    delete_prefix(redis, prefix)


def on_host(name: str, env: dict[str, str], tmp_path) -> dict[str, str]:
    """``catalystctl``'s in-process ingest of SOURCE on host ``name``: its own empty home."""
    home = tmp_path / name / "home"
    host_env = env | {
        "CATALYST_HOME": str(home),
        "DAGSTER_HOME": str(tmp_path / name / "dagster"),  # the run store, per host here
    }
    done = subprocess.run(
        [sys.executable, "-m", "catalyst_orchestration.ingest", SOURCE],
        env=host_env, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # the production profile keeps nothing under CATALYST_HOME
    assert not home.exists() or not any(home.rglob("*")), sorted(home.rglob("*"))
    summary = {}
    for line in done.stdout.splitlines():
        key, sep, value = line.strip().partition(": ")
        if sep:
            summary[key] = value
    return summary


def chunks(tmp_path, document_id: str) -> int:
    client = QdrantClient(path=str(tmp_path / "qdrant"))
    try:
        flt = models.Filter(
            must=[
                models.FieldCondition(key="document_id", match=models.MatchValue(value=document_id))
            ]
        )
        return client.count("catalyst_chunks", count_filter=flt, exact=True).count
    finally:
        client.close()


def test_what_one_host_ingested_the_other_finds_changes_and_deletes(shared):
    s3, env, tmp_path = shared
    s3.put_object(
        Bucket=BUCKET, Key="tenants/default/kb/long.md", Body=f"# Long\n\n{LONG_TEXT}".encode()
    )
    s3.put_object(Bucket=BUCKET, Key="tenants/default/kb/gout.txt", Body=b"Colchicine for gout.")
    long_id, gout_id = f"{SOURCE}/long.md", f"{SOURCE}/gout.txt"

    first = on_host("host-a", env, tmp_path)
    assert (first["documents_new"], first["documents_unchanged"]) == ("2", "0")
    written_by_a = chunks(tmp_path, long_id)
    assert written_by_a > 1

    second = on_host("host-b", env, tmp_path)  # an empty home: the manifest is in PostgreSQL
    assert (second["documents_new"], second["documents_unchanged"]) == ("0", "2")
    assert second["chunks_written"] == "0"  # nothing embedded again

    s3.put_object(Bucket=BUCKET, Key="tenants/default/kb/long.md", Body=b"# Long\n\nNow short.")
    third = on_host("host-b", env, tmp_path)
    assert third["documents_changed"] == "1"
    # host A's stale chunks are gone; the first chunk and the heading are written again
    assert int(third["chunks_deleted"]) == written_by_a - 2
    assert chunks(tmp_path, long_id) == 2

    s3.delete_object(Bucket=BUCKET, Key="tenants/default/kb/gout.txt")
    fourth = on_host("host-a", env, tmp_path)
    assert fourth["documents_deleted"] == "1"
    assert chunks(tmp_path, gout_id) == 0 and chunks(tmp_path, long_id) == 2
