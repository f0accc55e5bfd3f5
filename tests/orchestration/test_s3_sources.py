"""S3 sources against a real S3 endpoint on loopback (moto in server mode): a prefix is
ingested, then objects are added, changed and deleted and the index follows; raw objects sit
in the S3 artifact store at the URIs the payloads name; the S3 sensor picks up a new object."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from catalyst_orchestration.defs.acquisition.sensors import watched_s3_sources
from catalyst_orchestration.defs.resources import ingest_resources
from catalyst_search.index.contract import HybridQuery
from catalyst_search.index.embedded.reader import EmbeddedReader
from catalyst_search.index.filters import FilterSpec, document_filter
from catalyst_search.ingest_requests.sqlite_jobs import SqliteJobStore
from catalyst_search.settings import get_settings, load_settings
from tests.helpers.s3 import moto_s3
from tests.orchestration.helpers import ingest

BUCKET = "acme-docs"
PREFIX = f"s3://{BUCKET}/tenants/default/handbook"
DOCS = {
    "thyroid.md": "# Thyroid\n\nHypothyroidism is treated with levothyroxine; TSH is rechecked.",
    "gout.txt": "Gout flares are eased with colchicine and later prevented with allopurinol.",
    "asthma.md": "# Asthma\n\nAn inhaled corticosteroid controls persistent asthma symptoms.",
}


@pytest.fixture
def s3(catalyst_home, monkeypatch, tmp_path):
    with moto_s3(monkeypatch) as client:
        client.create_bucket(Bucket=BUCKET)
        client.create_bucket(Bucket="acme-artifacts")
        roots = f"{tmp_path},s3://{BUCKET}/tenants/{{tenant}}"
        monkeypatch.setenv("CATALYST_SOURCE_ROOTS", roots)
        monkeypatch.setenv("CATALYST_ARTIFACT_STORE", "s3://acme-artifacts/raw")
        get_settings.cache_clear()
        yield client
        get_settings.cache_clear()


@pytest.fixture
def instance(catalyst_home):
    with dg.instance_for_test() as test_instance:
        yield test_instance


def put(client, name: str, text: str) -> None:
    client.put_object(Bucket=BUCKET, Key=f"tenants/default/handbook/{name}", Body=text.encode())


def doc_id(name: str) -> str:
    return f"{PREFIX}/{name}"


def points(document: str | None = None) -> int:
    reader = EmbeddedReader(load_settings().index_dir, refresh_s=0)
    try:
        flt = document_filter("default", document) if document else FilterSpec()
        return reader.count(flt)
    finally:
        reader.close()


def payloads(document: str) -> list[dict]:
    """The payloads of ``document``'s chunks (a dense query filtered to the document)."""
    reader = EmbeddedReader(load_settings().index_dir, refresh_s=0)
    try:
        query = HybridQuery([0.05] * 384, None, document_filter("default", document), limit=50)
        return [hit.payload for hit in reader.query(query)]
    finally:
        reader.close()


def raw_meta(result: dg.ExecuteInProcessResult) -> dict:
    (materialization,) = result.asset_materializations_for_node("raw_documents")
    return {key: value.value for key, value in materialization.metadata.items()}


def test_a_prefix_is_ingested_and_the_index_follows_its_objects(s3, instance):
    for name, text in DOCS.items():
        put(s3, name, text)
    s3.put_object(Bucket=BUCKET, Key="tenants/default/handbook/.hidden", Body=b"x")
    s3.put_object(Bucket=BUCKET, Key="tenants/default/other/outside.txt", Body=b"not this")
    # a sibling whose name starts like the prefix is not under it
    s3.put_object(Bucket=BUCKET, Key="tenants/default/handbook-old/a.txt", Body=b"nor this")

    result, meta = ingest(PREFIX, instance)
    assert result.success
    assert (meta["documents_seen"], meta["documents_new"]) == (3, 3)
    assert raw_meta(result)["fetches"] == 3
    for name in DOCS:
        assert points(doc_id(name)) >= 1
    # the raw object is in the S3 artifact store, at the URI every chunk's payload names
    payload = payloads(doc_id("thyroid.md"))[0]
    bucket, _, key = payload["artifact_uri"].removeprefix("s3://").partition("/")
    assert bucket == "acme-artifacts" and key.startswith("raw/sha256/")
    stored = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert stored == DOCS["thyroid.md"].encode()
    assert payload["artifact_uri"] in raw_meta(result)["artifact_uris"]  # in the run metadata
    text_bucket, _, text_key = payload["text_uri"].removeprefix("s3://").partition("/")
    assert b"levothyroxine" in s3.get_object(Bucket=text_bucket, Key=text_key)["Body"].read()

    # add one, change one, delete one: only the new and the changed are downloaded again
    put(s3, "anemia.txt", "Iron deficiency anemia responds to oral ferrous sulfate.")
    put(s3, "gout.txt", "Gout: urate lowering with febuxostat when allopurinol is not tolerated.")
    s3.delete_object(Bucket=BUCKET, Key="tenants/default/handbook/asthma.md")
    result, meta = ingest(PREFIX, instance)
    assert result.success
    assert raw_meta(result)["fetches"] == 2
    assert (meta["documents_new"], meta["documents_changed"]) == (1, 1)
    assert (meta["documents_unchanged"], meta["documents_deleted"]) == (1, 1)
    assert meta["chunks_deleted"] >= 1
    assert points(doc_id("asthma.md")) == 0
    assert points(doc_id("anemia.txt")) >= 1
    assert "febuxostat" in payloads(doc_id("gout.txt"))[0]["text"]

    # nothing changed: nothing downloaded, nothing embedded, nothing deleted
    result, meta = ingest(PREFIX, instance)
    assert raw_meta(result)["fetches"] == 0
    assert (meta["documents_unchanged"], meta["documents_deleted"]) == (3, 0)


def test_a_prefix_outside_the_tenants_s3_roots_is_never_listed(s3, instance):
    s3.put_object(Bucket=BUCKET, Key="tenants/globex/secret.txt", Body=b"globex only")
    result, _ = ingest(f"s3://{BUCKET}/tenants/globex", instance)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "outside this tenant's S3 roots" in str(failure.event_specific_data.error)  # type: ignore[union-attr]


def test_the_s3_sensor_picks_up_a_new_object_without_a_request(s3, instance):
    put(s3, "thyroid.md", DOCS["thyroid.md"])
    jobs = SqliteJobStore(load_settings().jobs_db)
    watch = jobs.watches.add("default", PREFIX)
    resources = ingest_resources()

    def tick(cursor):
        with dg.build_sensor_context(
            instance=instance, cursor=cursor, resources=resources
        ) as context:
            return watched_s3_sources(context)

    first = tick(None)
    assert len(first.run_requests) == 1  # a new watch is synced at once
    request = first.run_requests[0]
    assert request.tags["catalyst/watch_id"] == watch.watch_id
    job = jobs.get(request.tags["catalyst/job_id"])
    assert (
        job is not None and job.sources == [PREFIX] and job.metadata["origin"].startswith("sensor")
    )

    quiet = tick(first.cursor)
    assert quiet.run_requests == [] and "no watched s3 source changed" in (quiet.skip_reason or "")

    put(s3, "gout.txt", DOCS["gout.txt"])
    changed = tick(quiet.cursor)
    assert len(changed.run_requests) == 1
    assert changed.run_requests[0].partition_key == request.partition_key
    assert changed.run_requests[0].run_key != request.run_key
    assert json.loads(changed.cursor)["digests"][watch.watch_id]


def test_s3_errors_are_classified_transient_or_permanent():
    from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

    from catalyst_orchestration.lib.failures import is_transient

    def error(code: str, status: int) -> ClientError:
        body = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
        return ClientError(body, "GetObject")  # type: ignore[arg-type]

    assert is_transient(error("SlowDown", 503)) and is_transient(error("InternalError", 500))
    assert is_transient(error("Throttling", 400))
    assert is_transient(EndpointConnectionError(endpoint_url="http://127.0.0.1:9"))
    assert is_transient(ReadTimeoutError(endpoint_url="http://127.0.0.1:9"))
    assert not is_transient(error("AccessDenied", 403)) and not is_transient(
        error("NoSuchKey", 404)
    )


def test_an_s3_root_a_tenant_name_cannot_fill_is_refused_not_a_server_error():
    from catalyst_search.ingest_requests.sources import InvalidSource, check_source

    rules = load_settings(source_roots="s3://{tenant}-docs/x").source_rules("Acme_1")
    with pytest.raises(InvalidSource, match="outside this tenant's S3 roots"):
        check_source("s3://acme-docs/x", rules=rules)
    reserved = load_settings(
        source_roots=f"s3://{BUCKET}/", artifact_store=f"s3://{BUCKET}/artifacts"
    ).source_rules("t1")
    with pytest.raises(InvalidSource, match="overlaps the artifact store"):
        check_source(f"s3://{BUCKET}/artifacts/sha256", rules=reserved)
    with pytest.raises(InvalidSource, match="overlaps the artifact store"):
        check_source(f"s3://{BUCKET}/", rules=reserved)
