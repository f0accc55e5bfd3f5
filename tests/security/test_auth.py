"""Credentials: JWT (HS256, RS256/ES256 from a JWKS) and API keys, refused with a reason."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import jwt
import pytest
from fastapi.testclient import TestClient

from catalyst_search.api.app import create_app
from catalyst_search.auth.key_stores import SqliteKeyStore
from catalyst_search.auth.keys import mint
from catalyst_search.cli import main as ctl
from catalyst_search.index.embedded.writer import EmbeddedWriter
from catalyst_search.settings import load_settings
from tests.conftest import icd_records
from tests.helpers.index import points_from_records
from tests.helpers.tokens import Keys, auth_env, b64, claims, hs256, hs256_raw, rs256, unsigned


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


@pytest.fixture(scope="module")
def service(tmp_path_factory, keys, dense, sparse):
    home = tmp_path_factory.mktemp("auth")
    settings = load_settings(home=home, **auth_env(home, keys))
    records = icd_records(limit=60)
    with EmbeddedWriter.open(settings.index_dir, lock_timeout_s=5) as writer:
        writer.upsert(points_from_records(records, tenant="t1", dense=dense, sparse=sparse))
        writer.publish()
    admin, admin_key = mint("ops", ("admin",), "bootstrap")
    revoked, revoked_key = mint("t1", ("search",), "old")
    store = SqliteKeyStore(settings)
    store.add(admin)
    store.add(revoked)
    store.revoke(revoked.key_id)
    with TestClient(create_app(settings)) as client:
        yield client, admin_key, revoked_key


def _bad_credentials(keys: Keys, revoked_key: str) -> dict[str, tuple[dict, str]]:
    valid = hs256(claims())
    head, _, sig = valid.split(".")
    tampered = f"{head}.{b64(json.dumps(claims(tenant='t2')).encode())}.{sig}"
    confused_input = unsigned({"alg": "HS256", "typ": "JWT", "kid": "rsa1"}, claims())
    confused = hmac.new(keys.rsa_public_pem(), confused_input.encode(), hashlib.sha256).digest()
    bearer = "Bearer {}".format
    return {
        "expired": ({"Authorization": bearer(hs256(claims(exp=1, nbf=0, iat=0)))}, "expired"),
        "not yet valid": (
            {"Authorization": bearer(hs256(claims(nbf=4_000_000_000)))},
            "not_yet_valid",
        ),
        "wrong aud": ({"Authorization": bearer(hs256(claims(aud="other")))}, "bad_audience"),
        "wrong iss": ({"Authorization": bearer(hs256(claims(iss="https://evil")))}, "bad_issuer"),
        "alg none": (
            {"Authorization": bearer(unsigned({"alg": "none"}, claims()) + ".")},
            "algorithm_not_allowed",
        ),
        "HS256 with the RS256 public key": (
            {"Authorization": bearer(f"{confused_input}.{b64(confused)}")},
            "bad_signature",
        ),
        "wrong secret": (
            {"Authorization": bearer(hs256(claims(), secret="x" * 40))},
            "bad_signature",
        ),
        "wrong RSA key": (
            {"Authorization": bearer(rs256(keys, claims(), key=keys.rotated))},
            "bad_signature",
        ),
        "unknown kid": (
            {"Authorization": bearer(rs256(keys, claims(), kid="nope", key=keys.rotated))},
            "unknown_kid",
        ),
        "ES256 token naming an RSA key": (
            {
                "Authorization": bearer(
                    jwt.encode(claims(), keys.ec, algorithm="ES256", headers={"kid": "rsa1"})
                )
            },
            "algorithm_not_allowed",
        ),
        "tampered payload": ({"Authorization": bearer(tampered)}, "bad_signature"),
        "missing tenant claim": (
            {"Authorization": bearer(hs256(claims(tenant=None)))},
            "missing_tenant",
        ),
        "tenant claim with a trailing newline": (  # re.match's $ would let it through
            {"Authorization": bearer(hs256(claims(tenant="acme\n")))},
            "missing_tenant",
        ),
        "revoked API key": ({"X-API-Key": revoked_key}, "revoked_key"),
        "unknown API key": ({"X-API-Key": "ck_0123456789abcdef_" + "A" * 43}, "unknown_key"),
        "malformed header": ({"Authorization": "Basic dXNlcjpwYXNz"}, "malformed_header"),
        "bearer without token": ({"Authorization": "Bearer"}, "malformed_header"),
        "not a JWT": ({"Authorization": "Bearer not-a-jwt"}, "malformed_token"),
        "no credentials": ({}, "missing_credentials"),
        "kid not a string": (
            {"Authorization": bearer(hs256_raw({"alg": "HS256", "kid": 5}, claims()))},
            "malformed_token",
        ),
    }


CASES = list(_bad_credentials(Keys(), "ck_x").keys())


def _refusals(client: TestClient, reason: str) -> float:
    line = f'catalyst_auth_failures_total{{reason="{reason}"}} '
    found = [row for row in client.get("/metrics").text.splitlines() if row.startswith(line)]
    return float(found[0].split()[-1]) if found else 0.0


@pytest.mark.parametrize("case", CASES)
def test_bad_credentials_answer_401_with_a_reason(service, keys, case, caplog):
    caplog.set_level(logging.INFO, logger="catalyst_search")
    client, _, revoked_key = service
    headers, reason = _bad_credentials(keys, revoked_key)[case]
    before = _refusals(client, reason)
    response = client.post("/search", json={"query": "diabetes"}, headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["detail"].startswith(f"{reason}:")
    assert "Traceback" not in response.text
    assert response.headers["www-authenticate"] == "Bearer"
    for value in headers.values():  # the credential is never echoed or logged
        secret = value.split(" ")[-1]
        if len(secret) < 16:
            continue  # "Bearer" alone, say: nothing secret to look for
        assert secret not in response.text
        assert secret not in caplog.text
    assert f"refused a credential: {reason}" in caplog.text  # logged, by reason only
    assert _refusals(client, reason) == before + 1


def test_valid_tokens_of_each_algorithm_search_their_tenant(service, keys):
    client, _, _ = service
    tokens = [
        hs256(claims()),
        rs256(keys, claims()),
        jwt.encode(claims(), keys.ec, algorithm="ES256", headers={"kid": "ec1"}),
    ]
    for token in tokens:
        response = client.post(
            "/search",
            json={"query": "iodine deficiency", "top_k": 3},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        assert len(response.json()["results"]) == 3
    other = hs256(claims(tenant="t2"))
    response = client.post(
        "/search", json={"query": "iodine"}, headers={"Authorization": f"Bearer {other}"}
    )
    assert response.status_code == 200 and response.json()["results"] == []


def test_a_missing_role_answers_403(service):
    client, _, _ = service
    searcher = {"Authorization": f"Bearer {hs256(claims(roles=('search',)))}"}
    nobody = {"Authorization": f"Bearer {hs256(claims(roles=()))}"}
    assert client.post("/search", json={"query": "x"}, headers=nobody).status_code == 403
    debug = client.post("/search", json={"query": "x", "debug": True}, headers=searcher)
    assert debug.status_code == 403 and "debug" in debug.json()["detail"]
    ingest = client.post("/ingest/bulk", json={"sources": ["/tmp"]}, headers=searcher)
    assert ingest.status_code == 403
    assert client.get("/ingest/jobs/abc", headers=searcher).status_code == 403
    assert client.get("/admin/keys", headers=searcher).status_code == 403
    with_debug = {"Authorization": f"Bearer {hs256(claims(roles='search debug'))}"}
    response = client.post("/search", json={"query": "x", "debug": True}, headers=with_debug)
    assert response.status_code == 200 and response.json()["debug"]


def test_api_keys_are_created_once_listed_without_secrets_and_revoked(service):
    client, admin_key, _ = service
    admin = {"Authorization": f"Bearer {admin_key}"}
    created = client.post(
        "/admin/keys", json={"tenant_id": "t1", "roles": ["search"], "label": "app"}, headers=admin
    )
    assert created.status_code == 201, created.text
    key, key_id = created.json()["key"], created.json()["key_id"]
    listed = client.get("/admin/keys", params={"tenant_id": "t1"}, headers=admin).json()
    assert key_id in [k["key_id"] for k in listed]
    assert key not in json.dumps(listed) and "digest" not in json.dumps(listed)
    for headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}):
        response = client.post("/search", json={"query": "goitre"}, headers=headers)
        assert response.status_code == 200 and response.json()["results"]
    assert client.delete(f"/admin/keys/{key_id}", headers=admin).status_code == 204
    assert client.delete(f"/admin/keys/{key_id}", headers=admin).status_code == 404
    refused = client.post("/search", json={"query": "goitre"}, headers={"X-API-Key": key})
    assert refused.status_code == 401 and refused.json()["detail"].startswith("revoked_key")


def test_disabled_auth_refuses_to_serve_beyond_loopback(settings, capsys):
    assert settings.auth_methods == frozenset()
    assert ctl(["serve", "--host", "0.0.0.0"]) == 2
    assert "CATALYST_AUTH" in capsys.readouterr().err


def test_disabled_auth_refuses_requests_to_an_open_bind(settings):
    app = create_app(settings)
    with TestClient(app, base_url="http://0.0.0.0:8000") as client:
        response = client.post("/search", json={"query": "x"})
        assert response.status_code == 403
        assert "loopback" in response.json()["detail"]
        assert client.get("/healthz").status_code == 200


def test_jobs_are_listed_cancelled_and_retried_by_their_tenant_only(service):
    from catalyst_search.settings import SAMPLE_CORPUS

    client, _, _ = service
    t1 = {"Authorization": f"Bearer {hs256(claims(tenant='t1', roles=('ingest',)))}"}
    t2 = {"Authorization": f"Bearer {hs256(claims(tenant='t2', roles=('ingest',)))}"}
    searcher = {"Authorization": f"Bearer {hs256(claims(tenant='t1', roles=('search',)))}"}
    accepted = client.post("/ingest/bulk", json={"sources": [str(SAMPLE_CORPUS)]}, headers=t1)
    job_id = accepted.json()["job_id"]
    assert job_id in [j["job_id"] for j in client.get("/ingest/jobs", headers=t1).json()["jobs"]]
    assert client.get("/ingest/jobs", headers=t2).json() == {"jobs": [], "next_cursor": None}
    unknown = {"detail": f"no ingest job {job_id}"}
    for path in (f"/ingest/jobs/{job_id}/cancel", f"/ingest/jobs/{job_id}/retry"):
        refused = client.post(path, headers=t2)
        assert refused.status_code == 404 and refused.json() == unknown
        assert client.post(path, headers=searcher).status_code == 403
    assert client.get(f"/ingest/jobs/{job_id}/events", headers=t2).status_code == 404
    assert client.get("/ingest/jobs", headers=searcher).status_code == 403
    assert client.get("/ingest/jobs", params={"limit": 1000}, headers=t1).status_code == 422
    assert client.post(f"/ingest/jobs/{job_id}/cancel", headers=t1).json()["status"] == (
        "cancelled"
    )


def test_feedback_is_scoped_to_the_tenant_that_searched(service):
    client, _, _ = service
    t1 = {"Authorization": f"Bearer {hs256(claims(tenant='t1', roles=('search',)))}"}
    t2 = {"Authorization": f"Bearer {hs256(claims(tenant='t2', roles=('search',)))}"}
    nobody = {"Authorization": f"Bearer {hs256(claims(tenant='t1', roles=()))}"}
    found = client.post("/search", json={"query": "iodine deficiency"}, headers=t1).json()
    body = {"query_id": found["query_id"], "chunk_id": found["results"][0]["chunk_id"],
            "rating": 1}  # fmt: skip
    import time

    deadline = time.monotonic() + 5
    while client.post("/feedback", json=body, headers=t2).status_code != 404:
        assert time.monotonic() < deadline  # another tenant's search: like an unknown one
    assert client.post("/feedback", json=body, headers=nobody).status_code == 403
    assert client.post("/feedback", json=body, headers=t1).json()["recorded"] is True
    mine = client.get("/feedback/analytics", headers=t1).json()
    theirs = client.get("/feedback/analytics", headers=t2).json()
    assert sum(b["feedback"] for b in mine["buckets"]) == 1
    assert sum(b["feedback"] for b in theirs["buckets"]) == 0
    assert client.get("/feedback/analytics", headers=nobody).status_code == 403
    assert client.get("/feedback/boosts", headers=t2).json() == []
    activate = client.post("/feedback/boosts/v1/activate", headers=t1)
    assert activate.status_code == 403  # a rollback needs the admin role
