"""Remote sources through the API: ``POST /ingest/bulk`` takes s3:// and web sources under the
tenant's rules, and ``/sources`` (watched sources) is tenant-scoped, role-checked and bounded;
the SDK and ``catalystctl sources`` speak to it."""

from __future__ import annotations

import socket

import pytest
from fastapi.testclient import TestClient

from catalyst_search.api.app import create_app
from catalyst_search.client import CatalystClient, InvalidRequest, NotFound
from catalyst_search.ingest_requests.watches import MAX_WATCHES, RedisWatches
from catalyst_search.settings import load_settings
from tests.helpers.dns import resolver
from tests.helpers.live_app import live_app
from tests.helpers.services import delete_prefix, machine_redis, unique_prefix
from tests.helpers.tokens import AUDIENCE, ISSUER, SECRET, claims, hs256

S3_ROOTS = "s3://acme-docs/tenants/{tenant}"


def bearer(tenant: str, *roles: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {hs256(claims(tenant=tenant, roles=roles))}"}


@pytest.fixture
def settings(tmp_path):
    return load_settings(
        home=tmp_path / "home",
        auth="jwt",
        jwt_secret=SECRET,
        jwt_audience=AUDIENCE,
        jwt_issuer=ISSUER,
        source_roots=f"{tmp_path},{S3_ROOTS}",
        outbound_allow="127.0.0.1",
    )


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_bulk_ingest_takes_remote_sources_under_the_tenants_rules(client):
    t1 = bearer("t1", "ingest")
    ok = ["s3://acme-docs/tenants/t1/handbook", "http://127.0.0.1:9/page"]
    accepted = client.post("/ingest/bulk", json={"sources": ok}, headers=t1)
    assert accepted.status_code == 202, accepted.text
    job = client.get(f"/ingest/jobs/{accepted.json()['job_id']}", headers=t1).json()
    assert [s["source"] for s in job["sources"]] == ok
    refused = {
        "s3://acme-docs/tenants/t2/handbook": "outside this tenant's S3 roots",
        "s3://acme-docs/tenants/t1x": "outside this tenant's S3 roots",
        "s3://other-bucket/tenants/t1": "outside this tenant's S3 roots",
        "s3://A_bad_bucket/x": "not a valid bucket name",
        "http://10.1.2.3/page": "not a public address",
        "http://169.254.169.254/latest/meta-data": "not a public address",
        "https://user:pw@127.0.0.1/": "credentials",
        "firecrawl+https://127.0.0.1/page": "need Firecrawl: set CATALYST_FIRECRAWL_URL",
        "ftp://127.0.0.1/file": "give an absolute path",
    }
    for source, fragment in refused.items():
        response = client.post("/ingest/bulk", json={"sources": [source]}, headers=t1)
        assert response.status_code == 422 and fragment in response.json()["detail"], source


def test_a_name_the_dns_cannot_resolve_now_is_503_and_no_job(settings, monkeypatch):
    """Nothing is wrong with a URL whose name the DNS fails to resolve for the moment: the
    client is told to retry (503, Retry-After, the field named), not that its request is
    invalid (422), and no job is kept half made. A request that would be refused anyway is
    refused (422) rather than sent again, and a name that does not exist stays a 422."""
    resolver(
        monkeypatch,
        {"down.example.org": socket.EAI_AGAIN, "nowhere.example.org": socket.EAI_NONAME,
         "up.example.org": "93.184.216.34"},
    )  # fmt: skip
    t1 = bearer("t1", "ingest")
    hooked = settings.model_copy(update={"webhook_secret": "s" * 32})
    down, up = "https://down.example.org/page", "https://up.example.org/page"
    with TestClient(create_app(hooked)) as client:
        for request, field in (
            ({"sources": [up, down]}, "sources[1]: down.example.org"),
            ({"sources": [up], "webhook_url": "https://down.example.org/h"}, "webhook_url: down"),
        ):
            response = client.post("/ingest/bulk", json=request, headers=t1)
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "5"
            detail = response.json()["detail"]
            assert detail.startswith(field) and "cannot be resolved now; retry shortly" in detail
        watch = client.post("/sources", json={"uri": "https://down.example.org/"}, headers=t1)
        assert watch.status_code == 503 and watch.headers["retry-after"] == "5"
        assert watch.json()["detail"].startswith("uri: down.example.org")
        assert client.get("/ingest/jobs", headers=t1).json()["jobs"] == []
        assert client.get("/sources", headers=t1).json()["sources"] == []

        doomed = [
            {"sources": [down, "http://10.0.0.1/x"]},
            {"sources": ["http://10.0.0.1/x"], "webhook_url": "https://down.example.org/h"},
            {"sources": ["https://nowhere.example.org/p"]},
        ]
        for request in doomed:
            response = client.post("/ingest/bulk", json=request, headers=t1)
            assert response.status_code == 422, (request, response.text)
        ok = client.post("/ingest/bulk", json={"sources": [up]}, headers=t1)
        assert ok.status_code == 202, ok.text


def test_watched_sources_belong_to_their_tenant(client, tmp_path):
    t1, t2 = bearer("t1", "ingest"), bearer("t2", "ingest")
    folder = tmp_path / "inbox"
    folder.mkdir()
    created = client.post("/sources", json={"uri": str(folder)}, headers=t1)
    assert created.status_code == 201
    watch = created.json()
    assert watch["kind"] == "folder" and watch["uri"] == str(folder.resolve())
    again = client.post("/sources", json={"uri": str(folder)}, headers=t1).json()
    assert again == watch  # the same source is one watch
    s3 = client.post("/sources", json={"uri": "s3://acme-docs/tenants/t1"}, headers=t1).json()
    assert s3["kind"] == "s3"

    listed = client.get("/sources", headers=t1).json()["sources"]
    assert [w["watch_id"] for w in listed] == [watch["watch_id"], s3["watch_id"]]
    assert client.get("/sources", headers=t2).json() == {"sources": []}
    gone = client.delete(f"/sources/{watch['watch_id']}", headers=t2)
    assert gone.status_code == 404  # another tenant's watch is unknown
    assert client.delete(f"/sources/{watch['watch_id']}", headers=t1).status_code == 204
    assert client.delete(f"/sources/{watch['watch_id']}", headers=t1).status_code == 404
    assert [w["watch_id"] for w in client.get("/sources", headers=t1).json()["sources"]] == [
        s3["watch_id"]
    ]


def test_watched_sources_are_checked_bounded_and_role_guarded(client):
    t1 = bearer("t1", "ingest")
    searcher = bearer("t1", "search")
    assert client.get("/sources").status_code == 401
    assert client.get("/sources", headers=searcher).status_code == 403
    assert client.post("/sources", json={"uri": "/etc"}, headers=searcher).status_code == 403
    for body in ({"uri": "/etc"}, {"uri": "s3://acme-docs/tenants/t2"}, {"uri": ""},
                 {"uri": "x" * 3000}, {"uri": "/tmp", "extra": 1}):  # fmt: skip
        response = client.post("/sources", json=body, headers=t1)
        assert response.status_code == 422, body
    assert client.delete("/sources/not-hex!", headers=t1).status_code == 422


def test_a_tenant_may_watch_at_most_a_bounded_number_of_sources(settings):
    t1 = bearer("t1", "ingest")
    roomy = settings.model_copy(update={"rate_ingest": "1000/minute"})
    with TestClient(create_app(roomy)) as client:
        for n in range(MAX_WATCHES):
            uri = f"s3://acme-docs/tenants/t1/p{n}"
            assert client.post("/sources", json={"uri": uri}, headers=t1).status_code == 201
        extra = client.post("/sources", json={"uri": "s3://acme-docs/tenants/t1/x"}, headers=t1)
    assert extra.status_code == 409 and "at most" in extra.json()["detail"]


def test_the_sdk_watches_lists_and_unwatches(settings, tmp_path):
    token = hs256(claims(tenant="t1", roles=("ingest",)))
    with live_app(settings) as url, CatalystClient(url, token=token) as sdk:
        watch = sdk.watch_source("s3://acme-docs/tenants/t1/handbook")
        assert watch["kind"] == "s3"
        assert [w["uri"] for w in sdk.list_sources()] == ["s3://acme-docs/tenants/t1/handbook"]
        with pytest.raises(InvalidRequest, match="outside this tenant's S3 roots"):
            sdk.watch_source("s3://acme-docs/tenants/t2")
        sdk.unwatch_source(watch["watch_id"])
        with pytest.raises(NotFound):
            sdk.unwatch_source(watch["watch_id"])
        assert sdk.list_sources() == []


def test_redis_keeps_watches_per_tenant():
    client = machine_redis()
    prefix = unique_prefix()
    try:
        watches = RedisWatches(client, prefix=prefix)
        first = watches.add("t1", "s3://acme-docs/tenants/t1")
        assert watches.add("t1", "s3://acme-docs/tenants/t1") == first
        watches.add("t2", "s3://acme-docs/tenants/t2")
        assert [w.uri for w in watches.listed("t1")] == ["s3://acme-docs/tenants/t1"]
        assert len(watches.listed()) == 2
        assert not watches.remove("t2", first.watch_id)
        assert watches.has(first.watch_id)
        assert watches.remove("t1", first.watch_id) and watches.listed("t1") == []
        assert not watches.has(first.watch_id)
    finally:
        delete_prefix(client, prefix)


def test_names_are_matched_whole_not_up_to_a_trailing_newline(tmp_path):
    """``re.match`` with ``$`` accepts a trailing newline: a bucket named ``acme-docs\\n`` or an
    API key with one would have passed the pattern."""
    from catalyst_search.auth.key_stores import SqliteKeyStore
    from catalyst_search.auth.keys import mint, verify_key
    from catalyst_search.auth.principal import AuthError
    from catalyst_search.ingest_requests.remote import parse_s3_uri

    assert parse_s3_uri("s3://acme-docs/x") == ("acme-docs", "x")
    with pytest.raises(ValueError, match="not a valid bucket name"):
        parse_s3_uri("s3://acme-docs\n/x")
    from catalyst_search.settings import load_settings

    store = SqliteKeyStore(load_settings(home=tmp_path))
    record, key = mint("t1", ("search",), "test")
    store.add(record)
    assert verify_key(store, key).tenant_id == "t1"
    with pytest.raises(AuthError, match="not an API key"):
        verify_key(store, key + "\n")
