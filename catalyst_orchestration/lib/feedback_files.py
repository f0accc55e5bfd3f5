"""Feedback events as Parquet, one file per day under the artifacts folder.

A day's file is rewritten whole (the old rows, the new ones, each event id once) to a
temporary name and moved into place, so a run killed at any point leaves the previous file or
the new one, and events it had not acknowledged are drained again without doubling. Drains of
one day hold its lock (``day_lock``) from reading the file to acknowledging the events, so two
runs of the same day (the schedule, the sensor, the CLI) cannot overwrite each other's rows.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from catalyst_orchestration.lib.boosts import EVENT_COLUMNS
from catalyst_search.feedback.records import FeedbackEvent


def day_bounds(day: str) -> tuple[float, float]:
    """``2026-11-30`` -> the UTC timestamps of its start and of the next day's."""
    start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
    return start, start + 86400


def day_file(root: Path, day: str) -> Path:
    return root / "feedback" / "events" / f"day={day}" / "events.parquet"


@contextmanager
def day_lock(root: Path, day: str) -> Iterator[None]:
    """Exclusive for one day's drain, across processes on this host (``flock``)."""
    lock = day_file(root, day).parent / ".lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def frame_of(events: list[FeedbackEvent]) -> pd.DataFrame:
    rows = [{column: getattr(e, column) for column in EVENT_COLUMNS} for e in events]
    return pd.DataFrame(rows, columns=EVENT_COLUMNS)


def merge_day(root: Path, day: str, events: list[FeedbackEvent]) -> pd.DataFrame:
    """The day's file with ``events`` added (each event id once), written atomically."""
    path = day_file(root, day)
    frames = [frame_of(events)]
    if path.exists():
        frames.insert(0, pd.read_parquet(path))
    merged = pd.concat([f for f in frames if not f.empty] or frames, ignore_index=True)
    merged = merged.drop_duplicates("event_id").sort_values(["at", "event_id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    merged.to_parquet(temporary, index=False)
    os.replace(temporary, path)
    return merged


def read_all(root: Path, *, since: float | None = None) -> pd.DataFrame:
    """Every day's events from the day of ``since`` on (all when None); empty when none."""
    first = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%d") if since else ""
    files = sorted(
        f
        for f in (root / "feedback" / "events").glob("day=*/events.parquet")
        if f.parent.name.removeprefix("day=") >= first
    )
    if not files:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
