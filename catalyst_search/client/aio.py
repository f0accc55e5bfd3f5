"""``AsyncCatalystClient``: the same calls, answers, errors and retries as ``CatalystClient``,
for asyncio applications (``async with AsyncCatalystClient(url) as client: ...``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
from typing_extensions import Unpack

from catalyst_search.client import calls, streams
from catalyst_search.client.admin import AsyncAdminCalls
from catalyst_search.client.feedback_models import FeedbackAnalytics, FeedbackRecorded
from catalyst_search.client.models import (
    IngestJob,
    JobAccepted,
    JobEvent,
    JobPage,
    SearchResults,
)
from catalyst_search.client.sources import AsyncSourceCalls


class AsyncCatalystClient(AsyncSourceCalls, AsyncAdminCalls, calls.ClientBase):
    """``await AsyncCatalystClient(url).search("type 2 diabetes", top_k=5)``."""

    def _connect(self) -> None:
        self._http = httpx.AsyncClient(
            base_url=self.base_url, timeout=self.timeout_s, headers=self.headers
        )

    async def _execute(self, call: calls.Call) -> Any:
        attempts = self.attempts(call)
        while True:
            try:
                response = await self._http.request(
                    call.method, call.path, json=call.json, params=call.params
                )
            except httpx.TransportError as exc:
                await asyncio.sleep(attempts.wait_after(exc))
                continue
            if call.answered(response, attempts):
                return call.parse(response)
            await asyncio.sleep(attempts.wait_after(response))

    async def search(
        self,
        query: str,
        **options: Unpack[calls.SearchOptions],
    ) -> SearchResults:
        call = calls.search(query, **options)
        result: SearchResults = await self._execute(call)
        return result

    async def submit_ingest(
        self,
        sources: list[str],
        *,
        metadata: dict[str, Any] | None = None,
        webhook_url: str | None = None,
    ) -> JobAccepted:
        call = calls.submit_ingest(sources, metadata, webhook_url)
        result: JobAccepted = await self._execute(call)
        return result

    ingest = submit_ingest

    async def list_jobs(
        self, *, status: str | None = None, limit: int = 20, cursor: str | None = None
    ) -> JobPage:
        result: JobPage = await self._execute(calls.list_jobs(status, limit, cursor))
        return result

    async def cancel_job(self, job_id: str) -> IngestJob:
        result: IngestJob = await self._execute(calls.cancel_job(job_id))
        return result

    async def retry_job(self, job_id: str) -> JobAccepted:
        result: JobAccepted = await self._execute(calls.retry_job(job_id))
        return result

    async def submit_feedback(
        self,
        query_id: str,
        *,
        rating: int,
        chunk_id: str | None = None,
        document_id: str | None = None,
        event: str = "vote",
        comment: str = "",
    ) -> FeedbackRecorded:
        call = calls.submit_feedback(
            query_id,
            rating=rating,
            chunk_id=chunk_id,
            document_id=document_id,
            event=event,
            comment=comment,
        )
        recorded: FeedbackRecorded = await self._execute(call)
        return recorded

    async def feedback_analytics(
        self, *, start: str | None = None, end: str | None = None, bucket: str = "day"
    ) -> FeedbackAnalytics:
        report: FeedbackAnalytics = await self._execute(
            calls.feedback_analytics(start, end, bucket)
        )
        return report

    async def index_info(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._execute(calls.index_info())
        return result

    async def webhook_secret(self) -> str:
        result: str = await self._execute(calls.webhook_secret())
        return result

    async def job(self, job_id: str) -> IngestJob:
        result: IngestJob = await self._execute(calls.job(job_id))
        return result

    async def watch_job(self, job_id: str, *, interval_s: float = 1.0) -> AsyncIterator[IngestJob]:
        """The job each time it is polled, until it has finished (the last one yielded)."""
        while True:
            job = await self.job(job_id)
            yield job
            if job.finished:
                return
            await asyncio.sleep(interval_s)

    async def wait_for_job(
        self, job_id: str, *, timeout_s: float | None = None, interval_s: float = 1.0
    ) -> IngestJob:
        deadline = self.deadline(timeout_s)
        while True:
            job = await self.job(job_id)
            if job.finished:
                return job
            await asyncio.sleep(
                calls.next_poll_s(
                    job, interval_s=interval_s, deadline=deadline, timeout_s=timeout_s
                )
            )

    async def events(
        self, job_id: str, *, last_event_id: str | None = None, poll_interval_s: float = 1.0
    ) -> AsyncIterator[JobEvent]:
        """The job's events as they happen, like ``CatalystClient.events`` (polling too)."""
        follower = streams.EventFollower(self, job_id, last_event_id)
        while True:
            try:
                async with self._http.stream(
                    "GET", follower.call.path, headers=follower.headers(), timeout=follower.timeout
                ) as got:
                    if got.status_code != 200:
                        await got.aread()
                    wait = follower.opened(got)
                    if wait is None:
                        async for line in got.aiter_lines():
                            event = follower.feed(line)
                            if event is not None:
                                yield event
                                if follower.done:
                                    return
                        wait = follower.ended()
            except httpx.TransportError as exc:
                wait = follower.failed(exc)
            except streams.StreamUnavailable:
                polled = streams.PolledEvents()
                async for job in self.watch_job(job_id, interval_s=poll_interval_s):
                    for event in polled.feed(job):
                        yield event
                return
            await asyncio.sleep(wait)

    async def health(self) -> bool:
        return bool(await self._execute(calls.health()))

    async def ready(self) -> dict[str, Any]:
        """Readiness; ``ServiceUnavailable`` (503) while no index is loaded, after retries."""
        result: dict[str, Any] = await self._execute(calls.readiness(ready_only=True))
        return result

    async def readiness(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._execute(calls.readiness(ready_only=False))
        return result

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncCatalystClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
