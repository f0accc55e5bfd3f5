"""``GET /ingest/jobs/{job_id}/events``: what happens to a job, as Server-Sent Events.

Each event has an ``id``, an ``event`` (its kind, see ``ingest_requests.events``) and JSON
``data``; the stream ends after ``job_finished``. A client that reconnects sends the last id it
saw as ``Last-Event-ID`` and gets only what came after. A comment line every ``HEARTBEAT_S``
keeps proxies from closing a quiet stream. A stream lasts at most ``MAX_STREAM_S`` (the client
reconnects), and a tenant holds at most ``MAX_STREAMS_PER_TENANT`` at once on a replica.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Path, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from catalyst_search.api.deps import DispatcherDep, JobsCaller
from catalyst_search.api.models.errors import errors
from catalyst_search.ingest_requests.dispatch import QUEUE_ERRORS, Dispatcher, find_job
from catalyst_search.ingest_requests.events import JobEvent

router = APIRouter(prefix="/ingest", tags=["ingest"])

HEARTBEAT_S = 15.0
POLL_S = 0.5
MAX_STREAM_S = 3600.0
MAX_STREAMS_PER_TENANT = 20
BATCH = 100


def _sse(event: JobEvent) -> str:
    data = json.dumps({"at": event.at, **event.data}, separators=(",", ":"))
    return f"id: {event.id}\nevent: {event.kind}\ndata: {data}\n\n"


async def _events(dispatcher: Dispatcher, job_id: str, after: str | None) -> AsyncIterator[str]:
    started = quiet_since = time.monotonic()
    while time.monotonic() - started < MAX_STREAM_S:
        try:
            batch = await run_in_threadpool(
                dispatcher.jobs.events, job_id, after=after, limit=BATCH
            )
        except QUEUE_ERRORS:  # the store is down for now: keep the stream, try again
            batch = []
        for event in batch:
            after = event.id
            yield _sse(event)
            if event.kind == "job_finished":
                return
        now = time.monotonic()
        if batch:
            quiet_since = now
            continue
        if now - quiet_since >= HEARTBEAT_S:
            quiet_since = now
            yield ": heartbeat\n\n"
        await asyncio.sleep(POLL_S)


@router.get(
    "/jobs/{job_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "The job's events after Last-Event-ID, until job_finished.",
        },
        **errors(401, 403, 404, 422, 429),
    },
)
async def job_events(
    request: Request,
    job_id: Annotated[str, Path(min_length=1, max_length=64)],
    dispatcher: DispatcherDep,
    caller: JobsCaller,
    last_event_id: Annotated[str | None, Header(max_length=64)] = None,
) -> StreamingResponse:
    """Progress, per-document failures, runs started, retried and ended, and the job's end,
    as they happen. Another tenant's job answers 404, like an unknown one."""
    job = await run_in_threadpool(find_job, dispatcher, job_id)
    if job is None or job.tenant_id != caller.tenant_id:
        raise HTTPException(404, f"no ingest job {job_id}")
    open_streams: Counter[str] = request.app.state.job_streams
    if open_streams[caller.tenant_id] >= MAX_STREAMS_PER_TENANT:
        raise HTTPException(
            429,
            f"{MAX_STREAMS_PER_TENANT} event streams are open for this tenant; close one",
            headers={"Retry-After": "5"},
        )
    open_streams[caller.tenant_id] += 1

    async def stream() -> AsyncIterator[str]:
        try:
            async for chunk in _events(dispatcher, job_id, last_event_id):
                yield chunk
        finally:
            open_streams[caller.tenant_id] -= 1

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
