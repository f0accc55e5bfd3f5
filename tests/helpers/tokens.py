"""Signing material for auth tests: an HS256 secret, RSA and EC key pairs, and their JWKS."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

SECRET = "test-shared-secret-of-at-least-32-bytes!"
AUDIENCE = "catalyst-tests"
ISSUER = "https://idp.test"


class Keys:
    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self, *, rotated: bool = False) -> dict[str, Any]:
        keys = [
            {
                **json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.rsa.public_key())),
                "kid": "rsa1",
            },
            {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.ec.public_key())), "kid": "ec1"},
        ]
        if rotated:
            public = self.rotated.public_key()
            keys.append({**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public)), "kid": "rsa2"})
        return {"keys": keys}

    def write_jwks(self, path: Path) -> Path:
        path.write_text(json.dumps(self.jwks()))
        return path

    def rsa_public_pem(self) -> bytes:
        return self.rsa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def claims(tenant: str | None = "t1", roles: object = ("search",), **extra: Any) -> dict:
    now = int(time.time())
    body: dict[str, Any] = {
        "sub": "user-1",
        "aud": AUDIENCE,
        "iss": ISSUER,
        "iat": now,
        "nbf": now - 5,
        "exp": now + 600,
        "roles": list(roles) if isinstance(roles, tuple | list) else roles,
    }
    if tenant is not None:
        body["tenant_id"] = tenant
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


def hs256(body: dict, secret: str = SECRET) -> str:
    return jwt.encode(body, secret, algorithm="HS256")


def auth_env(tmp_path: Path, keys: Keys) -> dict[str, Any]:
    """Settings overrides for a service that takes HS256, the JWKS and API keys."""
    return {
        "auth": "jwt,apikey",
        "jwt_secret": SECRET,
        "jwt_jwks": str(keys.write_jwks(tmp_path / "jwks.json")),
        "jwt_audience": AUDIENCE,
        "jwt_issuer": ISSUER,
        "jwt_leeway_s": 0,
    }


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict, body: dict) -> str:
    """A JWT's signing input, for tokens PyJWT would refuse to make."""
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(body).encode())}"


def hs256_raw(header: dict, body: dict, key: bytes = SECRET.encode()) -> str:
    signing_input = unsigned(header, body)
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def rs256(keys: Keys, body: dict, kid: str = "rsa1", key: Any = None) -> str:
    return jwt.encode(body, key or keys.rsa, algorithm="RS256", headers={"kid": kid})
