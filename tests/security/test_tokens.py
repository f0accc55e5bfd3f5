"""JWT verification and settings: JWKS refresh and rules, forged algorithms, secrets unseen."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from catalyst_search.auth.principal import AuthError
from catalyst_search.auth.tokens import JwksKeys, JwtVerifier
from catalyst_search.cli import main as ctl
from catalyst_search.settings import SettingsError, load_settings
from tests.helpers.tokens import AUDIENCE, ISSUER, Keys, b64, claims, hs256, rs256, unsigned


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


def test_jwks_url_is_fetched_again_for_an_unknown_kid(keys):
    served = {"jwks": keys.jwks()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = json.dumps(served["jwks"]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/jwks.json"
        verifier = JwtVerifier(jwks=JwksKeys(url, cooldown_s=0), audience=AUDIENCE, issuer=ISSUER)
        assert verifier.verify(rs256(keys, claims())).tenant_id == "t1"
        rotated = rs256(keys, claims(tenant="t9"), kid="rsa2", key=keys.rotated)
        with pytest.raises(AuthError) as refused:
            verifier.verify(rotated)
        assert refused.value.reason == "unknown_kid"
        served["jwks"] = keys.jwks(rotated=True)  # the identity provider rotates its keys
        assert verifier.verify(rotated).tenant_id == "t9"
        # a JWKS-only deployment takes no HS256 token at all
        with pytest.raises(AuthError) as hs:
            verifier.verify(hs256(claims()))
        assert hs.value.reason == "algorithm_not_allowed"
    finally:
        server.shutdown()


def test_jwt_auth_needs_a_key(catalyst_home, monkeypatch, capsys):
    monkeypatch.setenv("CATALYST_AUTH", "jwt")
    assert ctl(["serve"]) == 2
    assert "CATALYST_JWT_SECRET" in capsys.readouterr().err


def test_secrets_never_show_in_settings_or_their_errors(catalyst_home, monkeypatch):
    settings = load_settings(auth="jwt", jwt_secret="hunter2-secret", cohere_api_key="co-key-9")
    assert "hunter2" not in repr(settings) and "co-key-9" not in repr(settings)
    assert "hunter2" not in settings.model_dump_json()
    with_queue = load_settings(queue="redis://user:hunter2@cache:6379/0")
    assert "hunter2" not in repr(with_queue) and "cache:6379" in repr(with_queue)
    monkeypatch.setenv("CATALYST_PORT", "redis://user:hunter2@cache:6379/0")
    with pytest.raises(SettingsError) as bad:
        load_settings()
    assert "CATALYST_PORT" in str(bad.value) and "hunter2" not in str(bad.value)


def test_a_jwks_only_verifier_refuses_hs256_even_signed_with_its_public_key(keys, tmp_path):
    verifier = JwtVerifier(
        jwks=JwksKeys(str(keys.write_jwks(tmp_path / "jwks.json"))),
        audience=AUDIENCE,
        issuer=ISSUER,
    )
    signing_input = unsigned({"alg": "HS256", "typ": "JWT", "kid": "rsa1"}, claims())
    forged = hmac.new(keys.rsa_public_pem(), signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(AuthError) as refused:
        verifier.verify(f"{signing_input}.{b64(forged)}")
    assert refused.value.reason == "algorithm_not_allowed"
    assert verifier.verify(rs256(keys, claims())).tenant_id == "t1"


def test_jwks_needs_issuer_audience_and_https(catalyst_home, keys, tmp_path):
    jwks = str(keys.write_jwks(tmp_path / "jwks.json"))
    with pytest.raises(SettingsError, match="CATALYST_JWT_ISSUER"):
        load_settings(auth="jwt", jwt_jwks=jwks)
    with pytest.raises(ValueError, match="https"):
        JwksKeys("http://idp.example.com/jwks.json")
    JwksKeys("http://127.0.0.1:9/jwks.json")  # loopback may be plain http (tests, sidecars)
