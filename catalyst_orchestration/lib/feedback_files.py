"""Feedback events as Parquet, one file per day: under the artifacts folder, or on S3 beside the
artifacts when ``CATALYST_ARTIFACT_STORE`` is set (run workers share no disk).

A day's file is rewritten whole (the old rows, the new ones, each event id once), and the
events are acknowledged in the feedback log only after the file holding them is written, so a
run killed at any point leaves the previous file or the new one, and the events it had not
acknowledged are drained again without doubling. Two drains of one day (the schedule, the
sensor, the CLI) cannot overwrite each other's rows: on local disk they take turns (``flock``);
on S3 a file is replaced only if it is still the one that was read (a conditional PUT,
``If-Match``/``If-None-Match``), else the drain reads it again and merges again.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from catalyst_orchestration.lib.boosts import EVENT_COLUMNS
from catalyst_orchestration.lib.s3_artifacts import in_store
from catalyst_search.feedback.records import FeedbackEvent
from catalyst_search.ingest_requests.remote import parse_s3_uri

if TYPE_CHECKING:  # pandas loads when a day is read or merged, not with the definitions
    import pandas as pd

#: a day's file changed under a drain this many times in a row: give up (the run fails, retries)
MERGE_ATTEMPTS = 5
_EVENTS = "feedback/events"


class DayFiles(Protocol):
    def lock(self, day: str) -> contextlib.AbstractContextManager[None]:
        """Held from reading a day's file to acknowledging its events (a no-op where writes
        are conditional)."""
        ...

    def read(self, day: str) -> tuple[pd.DataFrame | None, str | None]:
        """The day's events and a token of the file's version (None, None: no file yet)."""
        ...

    def write(self, day: str, frame: pd.DataFrame, *, over: str | None) -> bool:
        """Replace the day's file, if it is still the version ``over`` (None: if there is none);
        False when another drain wrote it meanwhile."""
        ...

    def days(self) -> list[str]:
        """The days that have a file, in order."""
        ...

    def where(self, day: str) -> str: ...


class LocalDayFiles:
    """``<artifacts>/feedback/events/day=<day>/events.parquet``, drains of a day taking turns."""

    def __init__(self, root: Path) -> None:
        self.root = root / _EVENTS

    def path(self, day: str) -> Path:
        return self.root / f"day={day}" / "events.parquet"

    @contextlib.contextmanager
    def lock(self, day: str) -> Iterator[None]:
        lock = self.path(day).parent / ".lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        with open(lock, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def read(self, day: str) -> tuple[pd.DataFrame | None, str | None]:
        import pandas as pd

        path = self.path(day)
        return (pd.read_parquet(path), "local") if path.exists() else (None, None)

    def write(self, day: str, frame: pd.DataFrame, *, over: str | None) -> bool:
        path = self.path(day)  # (``lock`` holds other drains off: ``over`` is still true)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        frame.to_parquet(temporary, index=False)
        os.replace(temporary, path)
        return True

    def days(self) -> list[str]:
        return sorted(p.parent.name.removeprefix("day=") for p in self.root.glob("day=*/*.parquet"))

    def where(self, day: str) -> str:
        return str(self.path(day))


class S3DayFiles:
    """``<CATALYST_ARTIFACT_STORE>/feedback/events/day=<day>/events.parquet``, replaced by
    conditional PUTs."""

    def __init__(self, client: Any, uri: str) -> None:
        self.client = client
        self.bucket, prefix = parse_s3_uri(uri)
        self.prefix = in_store(prefix, _EVENTS)

    def key(self, day: str) -> str:
        return f"{self.prefix}/day={day}/events.parquet"

    def lock(self, day: str) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def read(self, day: str) -> tuple[pd.DataFrame | None, str | None]:
        import pandas as pd

        try:
            found = self.client.get_object(Bucket=self.bucket, Key=self.key(day))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return None, None
            raise
        return pd.read_parquet(io.BytesIO(found["Body"].read())), found["ETag"]

    def write(self, day: str, frame: pd.DataFrame, *, over: str | None) -> bool:
        body = io.BytesIO()
        frame.to_parquet(body, index=False)
        condition = {"IfMatch": over} if over else {"IfNoneMatch": "*"}
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self.key(day), Body=body.getvalue(), **condition
            )
        except ClientError as exc:  # 412: another drain's write came first; 409: at once
            error = exc.response.get("Error", {}).get("Code")  # (a body-less answer: its status)
            if error in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409"):
                return False
            raise
        return True

    def days(self) -> list[str]:
        found = []
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}/day="
        )
        for page in pages:
            for item in page.get("Contents", []):
                folder, _, name = item["Key"].rpartition("/")
                if name == "events.parquet":
                    found.append(folder.rpartition("/")[2].removeprefix("day="))
        return sorted(found)

    def where(self, day: str) -> str:
        return f"s3://{self.bucket}/{self.key(day)}"


def day_bounds(day: str) -> tuple[float, float]:
    """``2026-11-30`` -> the UTC timestamps of its start and of the next day's."""
    start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
    return start, start + 86400


def frame_of(events: list[FeedbackEvent]) -> pd.DataFrame:
    import pandas as pd

    rows = [{column: getattr(e, column) for column in EVENT_COLUMNS} for e in events]
    return pd.DataFrame(rows, columns=EVENT_COLUMNS)


def merge_day(files: DayFiles, day: str, events: list[FeedbackEvent]) -> pd.DataFrame:
    """The day's file with ``events`` added (each event id once), written whole."""
    import pandas as pd

    for _ in range(MERGE_ATTEMPTS):
        old, version = files.read(day)
        frames = [f for f in (old, frame_of(events)) if f is not None and not f.empty]
        merged = pd.concat(frames, ignore_index=True) if frames else frame_of([])
        merged = merged.drop_duplicates("event_id").sort_values(["at", "event_id"])
        if files.write(day, merged, over=version):
            return merged
    raise RuntimeError(f"{files.where(day)} changed under {MERGE_ATTEMPTS} merges in a row")


def read_all(files: DayFiles, *, since: float | None = None) -> pd.DataFrame:
    """Every day's events from the day of ``since`` on (all when None); empty when none."""
    import pandas as pd

    first = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%d") if since else ""
    frames = [files.read(day)[0] for day in files.days() if day >= first]
    found = [f for f in frames if f is not None]
    if not found:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    return pd.concat(found, ignore_index=True)
