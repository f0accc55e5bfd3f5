"""``CatalystClient``: the search service's HTTP API as Python calls with typed answers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
from typing_extensions import Unpack

from catalyst_search.client import calls, streams
from catalyst_search.client.admin import AdminCalls
from catalyst_search.client.feedback_models import FeedbackAnalytics, FeedbackRecorded
from catalyst_search.client.models import (
    IngestJob,
    JobAccepted,
    JobEvent,
    JobPage,
    SearchResults,
)
from catalyst_search.client.sources import SourceCalls


class CatalystClient(SourceCalls, AdminCalls, calls.ClientBase):
    """``CatalystClient("http://127.0.0.1:8000").search("type 2 diabetes", top_k=5)``.

    Errors are ``CatalystError`` subclasses carrying the server's message; 429, and 502, 503,
    504 and timeouts of calls safe to repeat, are retried per ``retry`` (see ``RetryPolicy``).
    """

    def _connect(self) -> None:
        self._http = httpx.Client(
            base_url=self.base_url, timeout=self.timeout_s, headers=self.headers
        )

    def _execute(self, call: calls.Call) -> Any:
        attempts = self.attempts(call)
        while True:
            try:
                response = self._http.request(
                    call.method, call.path, json=call.json, params=call.params
                )
            except httpx.TransportError as exc:
                time.sleep(attempts.wait_after(exc))
                continue
            if call.answered(response, attempts):
                return call.parse(response)
            time.sleep(attempts.wait_after(response))

    def search(
        self,
        query: str,
        **options: Unpack[calls.SearchOptions],
    ) -> SearchResults:
        """Search; ``mode="premium"`` reranks, ``track`` picks text, vision or both;
        ``debug=True`` adds the bundle that explains every result."""
        call = calls.search(query, **options)
        result: SearchResults = self._execute(call)
        return result

    def submit_ingest(
        self,
        sources: list[str],
        *,
        metadata: dict[str, Any] | None = None,
        webhook_url: str | None = None,
    ) -> JobAccepted:
        """Queue an ingest job for folders or JSONL files on the ingest host (absolute paths);
        ``webhook_url`` gets the signed job-finished payload. Retried only when it cannot have
        reached the service (or got 429): never queued twice."""
        call = calls.submit_ingest(sources, metadata, webhook_url)
        result: JobAccepted = self._execute(call)
        return result

    ingest = submit_ingest

    def job(self, job_id: str) -> IngestJob:
        """An ingest job: status, progress, and per source its runs, retries and failed
        documents. ``NotFound`` for an unknown job (or another tenant's)."""
        result: IngestJob = self._execute(calls.job(job_id))
        return result

    def list_jobs(
        self, *, status: str | None = None, limit: int = 20, cursor: str | None = None
    ) -> JobPage:
        """The tenant's jobs, newest first (``status`` to filter; ``cursor=page.next_cursor``
        for the next page)."""
        result: JobPage = self._execute(calls.list_jobs(status, limit, cursor))
        return result

    def cancel_job(self, job_id: str) -> IngestJob:
        """Cancel a job: sources not started at once, running runs within seconds. ``Conflict``
        when it has already ended."""
        result: IngestJob = self._execute(calls.cancel_job(job_id))
        return result

    def retry_job(self, job_id: str) -> JobAccepted:
        """A new job for what failed in an ended job (``metadata.retry_of`` names it);
        ``Conflict`` when it succeeded or has not ended."""
        result: JobAccepted = self._execute(calls.retry_job(job_id))
        return result

    def submit_feedback(
        self,
        query_id: str,
        *,
        rating: int,
        chunk_id: str | None = None,
        document_id: str | None = None,
        event: str = "vote",
        comment: str = "",
    ) -> FeedbackRecorded:
        """Feedback on one result of a search (``rating`` 1 or -1; ``event`` vote or click).
        The answer's ``recorded`` is false for a repeat: the same feedback counts once."""
        call = calls.submit_feedback(
            query_id,
            rating=rating,
            chunk_id=chunk_id,
            document_id=document_id,
            event=event,
            comment=comment,
        )
        recorded: FeedbackRecorded = self._execute(call)
        return recorded

    def feedback_analytics(
        self, *, start: str | None = None, end: str | None = None, bucket: str = "day"
    ) -> FeedbackAnalytics:
        """Searches, feedback and rates per ``bucket`` (hour, day, week) between ISO times
        ``start`` and ``end`` (default: the last 7 days); top and worst queries; boosts."""
        report: FeedbackAnalytics = self._execute(calls.feedback_analytics(start, end, bucket))
        return report

    def index_info(self) -> dict[str, Any]:
        """The served index version, your tenant's chunks in it, and the rerank tiers' state."""
        result: dict[str, Any] = self._execute(calls.index_info())
        return result

    def webhook_secret(self) -> str:
        """The key your webhook receivers verify deliveries with (``client.webhooks.verify``);
        needs a credential with the ``webhooks`` role."""
        result: str = self._execute(calls.webhook_secret())
        return result

    def watch_job(self, job_id: str, *, interval_s: float = 1.0) -> Iterator[IngestJob]:
        """Yield the job each time it is polled, until it has finished (the last one yielded)."""
        while True:
            job = self.job(job_id)
            yield job
            if job.finished:
                return
            time.sleep(interval_s)

    def wait_for_job(
        self, job_id: str, *, timeout_s: float | None = None, interval_s: float = 1.0
    ) -> IngestJob:
        """The job once it has finished, polled every ``interval_s``; ``JobTimeout`` (with the
        last state seen) once ``timeout_s`` seconds have passed, if given."""
        deadline = self.deadline(timeout_s)
        while True:
            job = self.job(job_id)
            if job.finished:
                return job
            time.sleep(
                calls.next_poll_s(
                    job, interval_s=interval_s, deadline=deadline, timeout_s=timeout_s
                )
            )

    def events(
        self, job_id: str, *, last_event_id: str | None = None, poll_interval_s: float = 1.0
    ) -> Iterator[JobEvent]:
        """The job's events as they happen (``GET /ingest/jobs/{id}/events``), after
        ``last_event_id`` if given, until ``job_finished``. A dropped stream is resumed from the
        last event seen; failures to reconnect follow the retry policy. Where no event stream
        comes through, the job is polled every ``poll_interval_s`` instead (``PolledEvents``)."""
        follower = streams.EventFollower(self, job_id, last_event_id)
        while True:
            try:
                with self._http.stream(
                    "GET", follower.call.path, headers=follower.headers(), timeout=follower.timeout
                ) as got:
                    if got.status_code != 200:
                        got.read()
                    wait = follower.opened(got)
                    if wait is None:
                        for line in got.iter_lines():
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
                for job in self.watch_job(job_id, interval_s=poll_interval_s):
                    yield from polled.feed(job)
                return
            time.sleep(wait)

    def health(self) -> bool:
        return bool(self._execute(calls.health()))

    def ready(self) -> dict[str, Any]:
        """Readiness; ``ServiceUnavailable`` (503) while no index is loaded, after retries."""
        result: dict[str, Any] = self._execute(calls.readiness(ready_only=True))
        return result

    def readiness(self) -> dict[str, Any]:
        """The readiness report whether or not an index is loaded (``ready`` says which)."""
        result: dict[str, Any] = self._execute(calls.readiness(ready_only=False))
        return result

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CatalystClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
