"""``create_app``: builds the index reader and encoders once, in the lifespan."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from catalyst_search import __version__
from catalyst_search.api.ingest import router as ingest_router
from catalyst_search.api.routes import router
from catalyst_search.index.backend import IndexNotReady
from catalyst_search.metrics import SearchMetrics
from catalyst_search.retrieval.factory import build_retriever
from catalyst_search.retrieval.filters import InvalidFilter
from catalyst_search.retrieval.hybrid import Retriever
from catalyst_search.settings import Settings, get_settings
from catalyst_search.stores.dispatch import open_dispatcher
from catalyst_search.stores.outbox import drain_forever

log = logging.getLogger("catalyst_search")


def create_app(settings: Settings | None = None, retriever: Retriever | None = None) -> FastAPI:
    """The search service. Pass ``retriever`` to serve an index built elsewhere (tests, bench)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        cfg = settings or get_settings()
        app.state.settings = cfg
        app.state.retriever = retriever or build_retriever(cfg, app.state.metrics)
        app.state.dispatcher = open_dispatcher(cfg, on_outage=app.state.metrics.outages.inc)
        stop = threading.Event()
        drainer = threading.Thread(
            target=drain_forever,
            args=(app.state.dispatcher, stop, cfg.outbox_drain_s),
            name="outbox-drain",
            daemon=True,
        )
        drainer.start()
        log.info("search service ready; index version %s", app.state.retriever.reader.version)
        try:
            yield
        finally:
            stop.set()
            drainer.join(timeout=5)
            if retriever is None:
                app.state.retriever.reader.close()

    app = FastAPI(title="CatalystIndex search", version=__version__, lifespan=lifespan)
    app.state.metrics = retriever.metrics if retriever else SearchMetrics()

    @app.middleware("http")
    async def _count(request: Request, call_next: Any) -> Any:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics: SearchMetrics = request.app.state.metrics
        metrics.requests.labels(
            route=path, method=request.method, status=str(response.status_code)
        ).inc()
        metrics.request_latency.labels(route=path).observe(time.perf_counter() - started)
        return response

    @app.exception_handler(IndexNotReady)
    async def _not_ready(_: Request, exc: IndexNotReady) -> JSONResponse:
        return JSONResponse(
            status_code=503,
            content={"detail": f"{exc}; ingest documents first (catalystctl ingest PATH)"},
        )

    @app.exception_handler(InvalidFilter)
    async def _bad_filter(_: Request, exc: InvalidFilter) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in err['loc'] if p != 'body') or 'body'}: {err['msg']}"
            for err in exc.errors()
        ]
        return JSONResponse(status_code=422, content={"detail": "; ".join(problems)})

    app.include_router(router)
    app.include_router(ingest_router)
    return app
