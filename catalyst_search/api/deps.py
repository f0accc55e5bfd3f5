"""FastAPI dependencies: what the lifespan built, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from catalyst_search.retrieval.hybrid import Retriever
from catalyst_search.settings import Settings


def get_retriever(request: Request) -> Retriever:
    retriever: Retriever = request.app.state.retriever
    return retriever


def get_app_settings(request: Request) -> Settings:
    cfg: Settings = request.app.state.settings
    return cfg


RetrieverDep = Annotated[Retriever, Depends(get_retriever)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
