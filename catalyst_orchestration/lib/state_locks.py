"""Locks the state stores hold across processes (SQLite: a file's ``flock``) or hosts
(PostgreSQL: a session advisory lock on a connection of its own). Either is released when its
block ends or its process dies, so a killed run leaves no lock behind. Two are used: index
writes (shared) against a rebuild's swap (exclusive), waited for; and one rebuild of a
collection at a time, never waited for (``LockHeld``)."""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

INDEX_KEY = 4243  # index writes against a rebuild's swap (PostgreSQL's advisory key)


class LockHeld(RuntimeError):
    """Another process holds a lock that is not waited for."""


def lock_name(purpose: str) -> str:
    """A name for ``purpose`` fit for a file name: its hash, not its text."""
    return hashlib.sha256(purpose.encode()).hexdigest()[:16]


def lock_key(purpose: str) -> int:
    """PostgreSQL's 64-bit advisory key for ``purpose`` (the same on every host)."""
    return int.from_bytes(hashlib.sha256(purpose.encode()).digest()[:8], "big", signed=True)


@contextmanager
def file_lock(path: Path, *, exclusive: bool, wait: bool = True) -> Iterator[None]:
    with open(path, "a") as handle:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        try:
            fcntl.flock(handle, mode if wait else mode | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockHeld(f"{path.name} is held by another process") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def advisory_lock(
    connect: Callable[[], Any], key: int, *, exclusive: bool, wait: bool = True
) -> Iterator[None]:
    conn = connect()
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            if not wait:  # (exclusive only: the shared lock is always waited for)
                cur.execute("SELECT pg_try_advisory_lock(%s)", (key,))
                if not cur.fetchone()[0]:
                    raise LockHeld(f"advisory lock {key} is held by another session")
            elif exclusive:
                cur.execute("SELECT pg_advisory_lock(%s)", (key,))
            else:
                cur.execute("SELECT pg_advisory_lock_shared(%s)", (key,))
        yield
    finally:
        conn.close()  # ends the session, and with it the lock
