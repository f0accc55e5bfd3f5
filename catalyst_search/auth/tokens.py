"""JWT verification through PyJWT: HS256 with a shared secret, RS256/ES256 from a JWKS.

The algorithm is chosen by the key, never by the token: a token's ``alg`` must be one this
deployment configured (so ``none`` and HS256-signed-with-the-public-key are refused before
any signature check), and a JWKS key verifies only with the algorithm of its own type.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt

from catalyst_search.auth.network import is_loopback
from catalyst_search.auth.principal import (
    AuthError,
    AuthReason,
    Principal,
    is_tenant_id,
    parse_roles,
)

#: The algorithm each JWK key type verifies with.
_KEY_TYPE_ALGORITHMS = {"RSA": "RS256", "EC": "ES256"}
_ERRORS: list[tuple[type[Exception], AuthReason]] = [
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not_yet_valid"),
    (jwt.InvalidAudienceError, "bad_audience"),
    (jwt.InvalidIssuerError, "bad_issuer"),
    (jwt.InvalidSignatureError, "bad_signature"),
    (jwt.MissingRequiredClaimError, "missing_claim"),
    (jwt.InvalidAlgorithmError, "algorithm_not_allowed"),
    (jwt.InvalidKeyError, "bad_signature"),
]


class JwksKeys:
    """Signing keys by ``kid`` from a JWKS URL (cached by PyJWKClient) or file (re-read on miss)."""

    def __init__(self, source: str, *, timeout_s: float = 5.0, cooldown_s: float = 30.0) -> None:
        """``cooldown_s``: the least time between two re-reads for unknown kids, so a flood of
        made-up kids cannot turn into a flood of JWKS fetches."""
        self.source = source
        self.cooldown_s = cooldown_s
        self._client: jwt.PyJWKClient | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._loaded_at = 0.0
        self._lock = threading.Lock()
        if re.match(r"^https?://", source):
            if source.startswith("http://") and not is_loopback(urlsplit(source).hostname or ""):
                raise ValueError(
                    "CATALYST_JWT_JWKS: fetch signing keys over https (plain http only on "
                    "loopback): anyone on the path could swap them"
                )
            self._client = jwt.PyJWKClient(
                source,
                cache_jwk_set=True,
                lifespan=300,
                timeout=timeout_s,
                cooldown_duration=cooldown_s,
            )
        else:
            self._load_file()

    @property
    def remote(self) -> bool:
        """Fetched over the network: a lookup may wait on it."""
        return self._client is not None

    def _load_file(self) -> None:
        text = Path(self.source).expanduser().read_text()
        keys = jwt.PyJWKSet.from_json(text).keys
        self._keys = {key.key_id: key for key in keys if key.key_id}
        self._loaded_at = time.monotonic()

    def get(self, kid: str) -> jwt.PyJWK:
        if self._client is not None:
            try:
                return self._client.get_signing_key(kid)  # refreshes the set on an unknown kid
            except jwt.PyJWKClientConnectionError as exc:
                raise AuthError("unknown_kid", "the JWKS could not be fetched") from exc
            except jwt.PyJWKClientError as exc:
                raise AuthError("unknown_kid", "no key with this kid") from exc
        with self._lock:
            if kid not in self._keys and time.monotonic() - self._loaded_at >= self.cooldown_s:
                try:
                    self._load_file()  # a rotated key: read the file again
                except (OSError, jwt.PyJWTError) as exc:
                    self._loaded_at = time.monotonic()  # keep the old keys; retry later
                    raise AuthError("unknown_kid", "the JWKS file could not be read") from exc
            key = self._keys.get(kid)
        if key is None:
            raise AuthError("unknown_kid", "no key with this kid")
        return key


class JwtVerifier:
    """Verifies signature, ``exp``, ``nbf``, ``iss`` and ``aud``; reads tenant and roles."""

    def __init__(
        self,
        *,
        secret: str | None = None,
        jwks: JwksKeys | None = None,
        audience: str | None = None,
        issuer: str | None = None,
        leeway_s: float = 30.0,
        tenant_claim: str = "tenant_id",
        roles_claim: str = "roles",
    ) -> None:
        if not (secret or jwks):
            raise ValueError("a JWT verifier needs a shared secret or a JWKS")
        self.secret = secret
        self.jwks = jwks
        self.audience = audience
        self.issuer = issuer
        self.leeway_s = leeway_s
        self.tenant_claim = tenant_claim
        self.roles_claim = roles_claim
        self.algorithms = ({"HS256"} if secret else set()) | (
            set(_KEY_TYPE_ALGORITHMS.values()) if jwks else set()
        )

    def _key(self, header: dict[str, Any]) -> tuple[Any, str]:
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise AuthError("algorithm_not_allowed", f"algorithm {alg!r} is not accepted")
        if alg == "HS256":
            return self.secret, alg
        kid = header.get("kid")
        if not isinstance(kid, str) or self.jwks is None:
            raise AuthError("unknown_kid", "the token names no key (kid)")
        key = self.jwks.get(kid)
        expected = (
            key.algorithm_name
            if key.algorithm_name in _KEY_TYPE_ALGORITHMS.values()
            else (_KEY_TYPE_ALGORITHMS.get(key.key_type or ""))
        )
        if alg != expected:
            raise AuthError("algorithm_not_allowed", f"key {kid} does not verify {alg}")
        return key.key, alg

    def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:  # not a JWT, a non-string kid, an unknown crit...
            raise AuthError("malformed_token", "the token is not a usable JWT") from exc
        key, alg = self._key(header)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp"]},
            )
        except jwt.PyJWTError as exc:
            for kind, reason in _ERRORS:
                if isinstance(exc, kind):
                    raise AuthError(reason, str(exc)) from exc
            raise AuthError("malformed_token", "the token could not be decoded") from exc
        tenant = claims.get(self.tenant_claim)
        if not is_tenant_id(tenant):
            raise AuthError("missing_tenant", f"the token has no valid {self.tenant_claim} claim")
        return Principal(
            tenant_id=tenant,
            roles=parse_roles(claims.get(self.roles_claim)),
            subject=str(claims.get("sub", "")),
            method="jwt",
        )
