"""``GET /ingest/jobs/{job_id}/events``: what happens to a job, as Server-Sent Events.

Each event has an ``id``, an ``event`` (its kind, see ``ingest_requests.events``) and JSON
``data``; the stream ends after ``job_finished``. A client that reconnects sends the last id it
saw as ``Last-Event-ID`` and gets only what came after. A comment line every ``HEARTBEAT_S``
keeps proxies from closing a quiet stream. A stream lasts at most ``MAX_STREAM_S`` (the client
reconnects); a tenant holds at most ``MAX_STREAMS_PER_TENANT`` at once on a replica, and the
replica ``MAX_STREAMS`` in all. A stream checks the credential once, when it opens.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Path, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from catalyst_search.api.deps import DispatcherDep, JobsCaller
from catalyst_search.api.models.errors import errors
from catalyst_search.ingest_requests.dispatch import QUEUE_ERRORS, Dispatcher, find_job
from catalyst_search.ingest_requests.events import JobEvent
from catalyst_search.ingest_requests.jobs import TERMINAL

router = APIRouter(prefix="/ingest", tags=["ingest"])

HEARTBEAT_S = 15.0
POLL_S = 0.5
MAX_STREAM_S = 3600.0
MAX_STREAMS_PER_TENANT = 20
MAX_STREAMS = 200  # all tenants, on this replica: each stream polls the job store
EVENT_ID = r"^\d{1,18}(-\d{1,18})?$"  # SQLite row ids, Redis stream ids
BATCH = 100
SETTLED_S = 2.0


def _sse(event: JobEvent) -> str:
    data = json.dumps({"at": event.at, **event.data}, separators=(",", ":"))
    return f"id: {event.id}\nevent: {event.kind}\ndata: {data}\n\n"


async def _finished(dispatcher: Dispatcher, job_id: str) -> str | None:
    """The job's final status once it has had it for ``SETTLED_S`` (its last events are written
    just after it), else None (running, just finished, or the store is down)."""
    try:
        job = await run_in_threadpool(find_job, dispatcher, job_id)
    except QUEUE_ERRORS:
        return None
    if job is None or job.status not in TERMINAL or time.time() - job.updated_at < SETTLED_S:
        return None
    return job.status


async def _events(dispatcher: Dispatcher, job_id: str, after: str | None) -> AsyncIterator[str]:
    """The job's events after ``after`` until ``job_finished``. A job whose log lacks that
    event (written before events were kept) gets one from its status: no stream runs forever
    on a finished job."""
    started = quiet_since = time.monotonic()
    checked = False  # looked at the job's status since the last event
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
            quiet_since, checked = now, False
            continue
        if not checked or now - quiet_since >= HEARTBEAT_S:
            checked = True
            status = await _finished(dispatcher, job_id)
            if status is not None:
                data = json.dumps({"at": time.time(), "status": status})
                yield f"event: job_finished\ndata: {data}\n\n"
                return
        if now - quiet_since >= HEARTBEAT_S:
            quiet_since = now
            yield ": heartbeat\n\n"
        await asyncio.sleep(POLL_S)


class _HeldStream(StreamingResponse):
    """A stream that gives its slot back however it ends: finished, failed, or the client gone
    before the first byte (when Starlette never starts or never closes the body iterator)."""

    def __init__(self, content: AsyncIterator[str], *, release: Callable[[], None]) -> None:
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()
            close = getattr(self.body_iterator, "aclose", None)
            if close is not None:
                await close()


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
    last_event_id: Annotated[str | None, Header(pattern=EVENT_ID)] = None,
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
    if open_streams.total() >= MAX_STREAMS:
        raise HTTPException(
            429,
            "this replica serves all the event streams it can; try later",
            headers={"Retry-After": "5"},
        )
    open_streams[caller.tenant_id] += 1

    def release() -> None:
        open_streams[caller.tenant_id] -= 1

    return _HeldStream(_events(dispatcher, job_id, last_event_id), release=release)
