"""Feedback events as Parquet, one file per day under the artifacts folder.

A day's file is rewritten whole (the old rows, the new ones, each event id once) to a
temporary name and moved into place, so a run killed at any point leaves the previous file or
the new one, and events it had not acknowledged are drained again without doubling.
"""

from __future__ import annotations

import os
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


def read_all(root: Path) -> pd.DataFrame:
    """Every day's events (an empty frame when there are none)."""
    files = sorted((root / "feedback" / "events").glob("day=*/events.parquet"))
    if not files:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
