"""FastAPI dependencies: what the lifespan built, and who is calling, as ``Annotated`` aliases.

Routes read app state and the caller only through these, so what a route depends on, and
which role it needs, is in its signature. Dependencies are ``async`` so they run on the event
loop instead of costing a thread-pool hop each; what may wait on I/O (an API key lookup, a JWKS
URL, a Redis rate limit) is sent to the pool.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPBearer
from starlette.concurrency import run_in_threadpool

from catalyst_search.api.slots import SearchSlots
from catalyst_search.auth.authenticator import Authenticator
from catalyst_search.auth.keys import KeyStore
from catalyst_search.auth.limits import Action, TenantLimiter
from catalyst_search.auth.network import is_open_bind
from catalyst_search.auth.principal import AuthError, Principal
from catalyst_search.feedback.search_log import SearchLog
from catalyst_search.ingest_requests.dispatch import Dispatcher
from catalyst_search.metrics import SearchMetrics
from catalyst_search.options import Role
from catalyst_search.retrieval.hybrid import Retriever
from catalyst_search.settings import Settings

log = logging.getLogger("catalyst_search.auth")

# Declared so the OpenAPI document shows both schemes; the headers are read raw below so a
# malformed one is refused with its reason rather than ignored.
_bearer = HTTPBearer(auto_error=False, description="A JWT or an API key (ck_...).")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key (ck_...).")


@dataclass(frozen=True)
class SearchContext:
    """What ``POST /search`` reads of the app state, as one dependency rather than five: FastAPI
    solves every dependency of every request anew (about 8 us each with warm caches), and after
    a search's encode has evicted them from the caches the five took 53 to 96 us more than this
    one (docs/performance.md, "The HTTP path")."""

    retriever: Retriever
    settings: Settings
    metrics: SearchMetrics
    search_log: SearchLog
    slots: SearchSlots


async def get_search_context(request: Request) -> SearchContext:
    state = request.app.state
    return SearchContext(
        state.retriever, state.settings, state.metrics, state.search_log, state.search_slots
    )


async def get_retriever(request: Request) -> Retriever:
    retriever: Retriever = request.app.state.retriever
    return retriever


async def get_app_settings(request: Request) -> Settings:
    cfg: Settings = request.app.state.settings
    return cfg


async def get_dispatcher(request: Request) -> Dispatcher:
    dispatcher: Dispatcher = request.app.state.dispatcher
    return dispatcher


async def get_search_log(request: Request) -> SearchLog:
    search_log: SearchLog = request.app.state.search_log
    return search_log


async def get_metrics(request: Request) -> SearchMetrics:
    metrics: SearchMetrics = request.app.state.metrics
    return metrics


async def get_keys(request: Request) -> KeyStore:
    authenticator: Authenticator = request.app.state.authenticator
    if authenticator.keys is None:
        raise HTTPException(404, "API keys are not enabled (CATALYST_AUTH)")
    return authenticator.keys


async def get_principal(
    request: Request,
    _bearer_scheme: Annotated[object, Security(_bearer)],
    _key_scheme: Annotated[object, Security(_api_key)],
) -> Principal:
    """The verified caller; 401 naming the reason (never the credential) otherwise.

    A JWT checked against a secret or a JWKS file is CPU work of microseconds and runs here;
    a credential that may need I/O (an API key lookup, a JWKS URL) runs in the thread pool.
    """
    authenticator: Authenticator = request.app.state.authenticator
    server = request.scope.get("server") or ("", 0)
    if not authenticator.enabled and is_open_bind(str(server[0])):
        raise HTTPException(
            403,
            f"CATALYST_AUTH=disabled serves loopback only, but this server is bound to "
            f"{server[0]}; set CATALYST_AUTH=jwt or apikey",
        )
    headers = request.headers.get("authorization"), request.headers.get("x-api-key")
    try:
        if authenticator.may_block(*headers):
            return await run_in_threadpool(authenticator.authenticate, *headers)
        return authenticator.authenticate(*headers)
    except AuthError as exc:
        request.app.state.metrics.auth_failures.labels(reason=exc.reason).inc()
        log.info("refused a credential: %s", exc.reason)
        raise HTTPException(
            401, f"{exc.reason}: {exc}", headers={"WWW-Authenticate": "Bearer"}
        ) from None


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def caller(
    role: Role, *, limit: Action | None = None
) -> Callable[..., Coroutine[None, None, Principal]]:
    """A dependency: the caller, who must hold ``role`` (403) and be within ``limit`` (429)."""

    async def dependency(request: Request, principal: PrincipalDep) -> Principal:
        if not principal.has(role):
            raise HTTPException(403, f"this credential lacks the {role} role")
        if limit is not None:
            limiter: TenantLimiter = request.app.state.limiter
            check = functools.partial(limiter.retry_after, principal.tenant_id, limit)
            wait = await run_in_threadpool(check) if limiter.shared else check()
            if wait is not None:
                request.app.state.metrics.rate_limited.labels(action=limit).inc()
                raise HTTPException(
                    429,
                    f"{limit} rate limit of {limiter.rates[limit]} per tenant reached; "
                    f"retry in {wait:.0f}s",
                    headers={"Retry-After": f"{wait:.0f}"},
                )
        return principal

    return dependency


SearchContextDep = Annotated[SearchContext, Depends(get_search_context)]
RetrieverDep = Annotated[Retriever, Depends(get_retriever)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]
MetricsDep = Annotated[SearchMetrics, Depends(get_metrics)]
SearchLogDep = Annotated[SearchLog, Depends(get_search_log)]
KeysDep = Annotated[KeyStore, Depends(get_keys)]
SearchCaller = Annotated[Principal, Depends(caller("search", limit="search"))]
IngestCaller = Annotated[Principal, Depends(caller("ingest", limit="ingest"))]
JobsCaller = Annotated[Principal, Depends(caller("ingest"))]
AdminCaller = Annotated[Principal, Depends(caller("admin"))]
WebhooksCaller = Annotated[Principal, Depends(caller("webhooks"))]
ReaderCaller = Annotated[Principal, Depends(caller("search"))]
