"""Following a job's Server-Sent Events: the parser, and the state both clients keep across
reconnects (where to resume, when the stream is done, how long to wait). Where no event stream
comes through (an older service, a proxy that buffers), the job is followed by polling."""

from __future__ import annotations

import json
import time

import httpx

from catalyst_search.client.calls import ClientBase, job_events
from catalyst_search.client.errors import CatalystError
from catalyst_search.client.models import IngestJob, JobEvent


def event_stream_error(response: httpx.Response) -> CatalystError | None:
    """A 200 that is not an event stream (a proxy's page, a wrong URL) is an error, not a
    stream to wait on."""
    kind = response.headers.get("content-type", "")
    if kind.startswith("text/event-stream"):
        return None
    return CatalystError(response.status_code, f"not an event stream ({kind or 'no type'})")


def empty_stream() -> httpx.TransportError:
    """A stream that ended before its first event: a failed try (it backs off, then gives up)."""
    return httpx.RemoteProtocolError("the event stream ended before its first event")


#: answers meaning this route gives no event stream: the job is followed by polling instead
NO_STREAM = frozenset({404, 405, 406, 501})


class StreamUnavailable(Exception):
    """No event stream here (``NO_STREAM``, or a 200 that is not one): poll the job instead.
    A 404 may also mean an unknown job, which the first poll then reports."""


class PolledEvents:
    """Events made from polled states of a job: ``progress`` when its status or counts change,
    ``job_finished`` at its end. They have no id: there is no stream to resume."""

    def __init__(self) -> None:
        self._last: tuple[str, int, int | None] | None = None

    def feed(self, job: IngestJob) -> list[JobEvent]:
        now, state = time.time(), (job.status, job.documents_done, job.documents_total)
        events = []
        if state != self._last:
            self._last = state
            data = {"status": job.status, "done": job.documents_done, "total": job.documents_total}
            events.append(JobEvent(id="", kind="progress", at=now, data=data))
        if job.finished:
            events.append(JobEvent(id="", kind="job_finished", at=now, data={"status": job.status}))
        return events


#: a stream stays quiet up to the server's heartbeat (15 s) between events
STREAM_READ_TIMEOUT_S = 60.0


class SseParser:
    """Server-Sent Events, line by line: ``feed`` returns an event at each blank line. As the
    spec says, an event without an ``id:`` keeps the last id seen."""

    def __init__(self, last_id: str = "") -> None:
        self.last_id = last_id
        self._kind = "message"
        self._data: list[str] = []

    def feed(self, line: str) -> JobEvent | None:
        if line.startswith(":"):
            return None  # a comment: the heartbeat
        if line:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                self._data.append(value)
            elif name == "event":
                self._kind = value
            elif name == "id" and "\0" not in value:
                self.last_id = value
            return None
        lines, kind = self._data, self._kind
        self._kind, self._data = "message", []
        try:
            data = json.loads("\n".join(lines)) if lines else None
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return None  # nothing, or not ours: skipped
        return JobEvent(id=self.last_id, kind=kind, at=float(data.pop("at", 0.0)), data=data)


class EventFollower:
    """One job's event stream across reconnects, for both clients: where to resume, when it is
    done, and how long to wait before the next connection."""

    def __init__(self, client: ClientBase, job_id: str, last_event_id: str | None) -> None:
        self.call = job_events(job_id)
        self.timeout = httpx.Timeout(client.timeout_s, read=STREAM_READ_TIMEOUT_S)
        self.last_event_id = last_event_id
        self.done = False
        self._client = client
        self._attempts = client.attempts(self.call)
        self._parser = SseParser()
        self._received = False

    def headers(self) -> dict[str, str]:
        return {"Last-Event-ID": self.last_event_id} if self.last_event_id else {}

    def opened(self, response: httpx.Response) -> float | None:
        """None when ``response`` is a stream to read; else the seconds to wait before the next
        connection. Raises when no try is left, or for a 200 that is not an event stream."""
        if response.status_code in NO_STREAM:
            raise StreamUnavailable(f"HTTP {response.status_code}")
        if response.status_code != 200:
            return self._attempts.wait_after(response)
        wrong = event_stream_error(response)
        if wrong is not None:
            raise StreamUnavailable(wrong.detail)
        self._parser, self._received = SseParser(self.last_event_id or ""), False
        return None

    def feed(self, line: str) -> JobEvent | None:
        """The event this line completes, if any; an event starts the tries afresh."""
        event = self._parser.feed(line)
        if event is not None:
            self._received, self._attempts = True, self._client.attempts(self.call)
            self.last_event_id = event.id or self.last_event_id
            self.done = event.kind == "job_finished"
        return event

    def ended(self) -> float:
        """Seconds to wait after a stream ended early: none after events, a try's backoff when
        it ended before its first one."""
        return 0.0 if self._received else self._attempts.wait_after(empty_stream())

    def failed(self, error: httpx.TransportError) -> float:
        return self._attempts.wait_after(error)
