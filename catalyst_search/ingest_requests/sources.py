"""Which sources an ingest request may name: absolute folders or JSONL record files."""

from __future__ import annotations

from pathlib import Path

from catalyst_search.ingest_requests.contract import RECORD_SUFFIXES


class InvalidSource(ValueError):
    """A source that cannot be ingested; the message says which and why."""


def check_source(raw: str, *, where: str = "source") -> str:
    """The resolved path of ``raw``, or ``InvalidSource`` saying what is wrong with it."""
    path = Path(raw).expanduser()
    if not path.is_absolute():
        raise InvalidSource(f"{where}: give an absolute path, got {raw!r}")
    if not path.exists():
        raise InvalidSource(f"{where}: {raw} does not exist on the ingest host")
    if path.is_file() and not path.name.lower().endswith(RECORD_SUFFIXES):
        raise InvalidSource(
            f"{where}: a file source must hold JSONL records ({', '.join(RECORD_SUFFIXES)})"
        )
    return str(path.resolve())


def check_sources(sources: list[str]) -> list[str]:
    """Check every source of one job: at least one, each once."""
    checked = [check_source(raw, where=f"sources[{i}]") for i, raw in enumerate(sources)]
    if not checked:
        raise InvalidSource("sources: give at least one folder or JSONL file")
    if len(set(checked)) != len(checked):
        raise InvalidSource("sources: each source may appear once per job")
    return checked
