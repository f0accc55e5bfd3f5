"""From request headers to a ``Principal``: the credential kinds ``CATALYST_AUTH`` enables.

``Authorization: Bearer <token>`` carries a JWT or an API key (``ck_...``); ``X-API-Key``
carries an API key. With auth disabled every caller is the default tenant with every role.
"""

from __future__ import annotations

import logging

from catalyst_search.auth.key_stores import open_keys
from catalyst_search.auth.keys import KEY_PREFIX, KeyStore, verify_key
from catalyst_search.auth.principal import ROLES, AuthError, Principal
from catalyst_search.auth.tokens import JwksKeys, JwtVerifier
from catalyst_search.ingest_requests.dispatch import QUEUE_ERRORS
from catalyst_search.settings import Settings

log = logging.getLogger("catalyst_search.auth")


class Authenticator:
    def __init__(self, settings: Settings, keys: KeyStore | None = None) -> None:
        self.methods = settings.auth_methods
        self.default = Principal(settings.default_tenant, ROLES, "local", "disabled")
        self.keys: KeyStore | None = keys
        if self.keys is None and (not self.methods or "apikey" in self.methods):
            self.keys = open_keys(settings)  # disabled mode still manages keys for later
        self.jwt: JwtVerifier | None = None
        if "jwt" in self.methods:
            secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
            self.jwt = JwtVerifier(
                secret=secret,
                jwks=JwksKeys(settings.jwt_jwks) if settings.jwt_jwks else None,
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
                leeway_s=settings.jwt_leeway_s,
                tenant_claim=settings.jwt_tenant_claim,
                roles_claim=settings.jwt_roles_claim,
            )

    def may_block(self, authorization: str | None, api_key: str | None) -> bool:
        """Whether checking these headers may wait on I/O: a key store, a JWKS URL."""
        if not self.methods:
            return False
        if api_key is not None or (authorization and KEY_PREFIX in authorization):
            return True
        return self.jwt is not None and self.jwt.jwks is not None and self.jwt.jwks.remote

    @property
    def enabled(self) -> bool:
        return bool(self.methods)

    def authenticate(self, authorization: str | None, api_key: str | None) -> Principal:
        """The caller, or ``AuthError`` with the reason; never logs or echoes the credential."""
        if not self.methods:
            return self.default
        if api_key is not None:
            return self._api_key(api_key.strip())
        if authorization is None:
            raise AuthError(
                "missing_credentials", "send Authorization: Bearer <token> or X-API-Key"
            )
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential or " " in credential:
            raise AuthError("malformed_header", "expected Authorization: Bearer <token>")
        if credential.startswith(KEY_PREFIX):
            return self._api_key(credential)
        if self.jwt is None:
            raise AuthError("method_not_enabled", "JWTs are not accepted here (CATALYST_AUTH)")
        return self.jwt.verify(credential)

    def _api_key(self, presented: str) -> Principal:
        if "apikey" not in self.methods or self.keys is None:
            raise AuthError("method_not_enabled", "API keys are not accepted here (CATALYST_AUTH)")
        try:
            return verify_key(self.keys, presented)
        except QUEUE_ERRORS as exc:
            log.error("API key store unreachable: %s", type(exc).__name__)
            raise AuthError("keys_unavailable", "credentials cannot be checked right now") from exc

    def close(self) -> None:
        if self.keys is not None:
            self.keys.close()
