"""FastAPI dependencies: what the lifespan built, as ``Annotated`` aliases.

Routes read app state only through these, so what a route depends on is in its signature.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from catalyst_search.ingest_requests.dispatch import Dispatcher
from catalyst_search.metrics import SearchMetrics
from catalyst_search.retrieval.hybrid import Retriever
from catalyst_search.settings import Settings


def get_retriever(request: Request) -> Retriever:
    retriever: Retriever = request.app.state.retriever
    return retriever


def get_app_settings(request: Request) -> Settings:
    cfg: Settings = request.app.state.settings
    return cfg


def get_dispatcher(request: Request) -> Dispatcher:
    dispatcher: Dispatcher = request.app.state.dispatcher
    return dispatcher


def get_metrics(request: Request) -> SearchMetrics:
    metrics: SearchMetrics = request.app.state.metrics
    return metrics


def get_tenant(settings: Annotated[Settings, Depends(get_app_settings)]) -> str:
    """The tenant a request acts for: every route scopes its reads and writes by it.

    Until credentials arrive this is ``CATALYST_DEFAULT_TENANT``; never a request field.
    """
    return settings.default_tenant


RetrieverDep = Annotated[Retriever, Depends(get_retriever)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]
MetricsDep = Annotated[SearchMetrics, Depends(get_metrics)]
TenantDep = Annotated[str, Depends(get_tenant)]
