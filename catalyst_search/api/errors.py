"""Errors with meaning: 503 while no index is loaded, an ingest request cannot be kept
anywhere, or a URL's name cannot be resolved now; 422 with one line per bad field."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from catalyst_search.index.contract import IndexNotReady
from catalyst_search.ingest_requests.dispatch import DispatchUnavailable
from catalyst_search.outbound import ResolutionUnavailable
from catalyst_search.retrieval.filters import InvalidFilter


async def _not_ready(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        status_code=503,
        content={"detail": f"{exc}; ingest documents first (catalystctl ingest PATH)"},
    )


async def _no_dispatch(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        status_code=503, content={"detail": str(exc)}, headers={"Retry-After": "30"}
    )


async def _not_resolved(_: Request, exc: Exception) -> JSONResponse:
    """A webhook URL or web source whose name the DNS cannot resolve now: not a bad URL."""
    return JSONResponse(
        status_code=503,
        content={"detail": f"{exc}; retry shortly"},
        headers={"Retry-After": "5"},
    )


async def _bad_filter(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": str(exc)})


async def _bad_request(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        f"{'.'.join(str(p) for p in err['loc'] if p != 'body') or 'body'}: {err['msg']}"
        for err in exc.errors()
    ]
    return JSONResponse(status_code=422, content={"detail": "; ".join(problems)})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(IndexNotReady, _not_ready)
    app.add_exception_handler(InvalidFilter, _bad_filter)
    app.add_exception_handler(DispatchUnavailable, _no_dispatch)
    app.add_exception_handler(ResolutionUnavailable, _not_resolved)
    app.add_exception_handler(RequestValidationError, _bad_request)
