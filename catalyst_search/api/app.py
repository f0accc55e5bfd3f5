"""``create_app``: builds the index reader, encoders and dispatcher once, in the lifespan."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from catalyst_search import __version__
from catalyst_search.api.errors import install_error_handlers
from catalyst_search.api.middleware import RequestMetrics
from catalyst_search.api.routes import (
    feedback,
    health,
    index,
    ingest,
    job_events,
    jobs,
    keys,
    search,
    sources,
    webhooks,
)
from catalyst_search.api.slots import SearchSlots
from catalyst_search.auth.authenticator import Authenticator
from catalyst_search.auth.limits import TenantLimiter
from catalyst_search.feedback.boosts import BoostCache
from catalyst_search.feedback.factory import open_feedback
from catalyst_search.feedback.search_log import SearchLog
from catalyst_search.ingest_requests.dispatch import drain_forever
from catalyst_search.ingest_requests.stores import open_dispatcher
from catalyst_search.metrics import SearchMetrics
from catalyst_search.retrieval.factory import build_retriever
from catalyst_search.retrieval.hybrid import Retriever
from catalyst_search.settings import Settings, get_settings

log = logging.getLogger("catalyst_search")


def create_app(settings: Settings | None = None, retriever: Retriever | None = None) -> FastAPI:
    """The search service. Pass ``retriever`` to serve an index built elsewhere (tests, bench)."""
    cfg = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = cfg
        app.state.authenticator = Authenticator(cfg)
        app.state.limiter = TenantLimiter(cfg)
        app.state.search_slots = SearchSlots(cfg.search_concurrency)  # and their threads
        if not app.state.authenticator.enabled:
            log.warning(
                "CATALYST_AUTH=disabled: every request acts as tenant %r with every role; "
                "for a laptop only (set CATALYST_AUTH=jwt or apikey to serve others)",
                cfg.default_tenant,
            )
        if (cfg.qdrant_url or "").startswith("path:") and cfg.index_backend == "server":
            log.warning(
                "CATALYST_QDRANT_URL=path:...: qdrant-client's local mode, one process at a "
                "time, for a trial or a test; deploy a Qdrant server (docs/deploy.md)"
            )
        app.state.retriever = retriever or build_retriever(cfg, app.state.metrics)
        app.state.feedback = open_feedback(cfg)
        if retriever is None:  # a retriever passed in keeps the boosts it was given
            app.state.retriever.boosts = BoostCache(
                app.state.feedback, refresh_s=cfg.boost_refresh_s
            )
        app.state.search_log = SearchLog(app.state.feedback, app.state.metrics).start()
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
            app.state.search_log.stop()
            app.state.feedback.close()
            app.state.authenticator.close()
            app.state.search_slots.close()
            if retriever is None:
                app.state.retriever.close()

    app = FastAPI(
        title="CatalystIndex search",
        version=__version__,
        lifespan=lifespan,
        max_body_size=cfg.max_body_bytes,
    )
    app.state.metrics = retriever.metrics if retriever else SearchMetrics()
    app.state.job_streams = Counter()  # open job event streams per tenant (this replica)

    app.add_middleware(RequestMetrics, metrics=app.state.metrics)

    install_error_handlers(app)
    app.include_router(search.router)
    app.include_router(feedback.router)
    app.include_router(ingest.router)
    app.include_router(jobs.router)
    app.include_router(job_events.router)
    app.include_router(keys.router)
    app.include_router(webhooks.router)
    app.include_router(health.router)
    app.include_router(index.router)
    app.include_router(sources.router)
    return app
