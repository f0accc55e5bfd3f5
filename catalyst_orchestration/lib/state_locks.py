"""Locks the state stores hold across processes (SQLite: a file's ``flock``) or hosts
(PostgreSQL: a session advisory lock on a connection of its own). Either is released when its
block ends or its process dies, so a killed run leaves no lock behind. Two are used: index
writes (shared) against a rebuild's swap (exclusive), waited for; and one rebuild of a
collection at a time, never waited for (``LockHeld``).

A session lock can also end while its holder runs on: PostgreSQL restarted, or the lock's idle
connection was cut. A holder that must not go on without it calls ``Held.confirm`` before each
step that needs it (``LockLost``). The lock's connection sends TCP keepalives, so a host that
died frees it within about a minute rather than the system's two hours."""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

INDEX_KEY = 4243  # index writes against a rebuild's swap (PostgreSQL's advisory key)


#: libpq's keepalives on a lock's connection: probe after 30 s idle, every 10 s, 3 times
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
              "keepalives_count": 3}  # fmt: skip


class LockHeld(RuntimeError):
    """Another process (or another holder in this one) holds a lock that is not waited for."""


class LockLost(RuntimeError):
    """A lock's session ended while its holder still needed it."""


class Held:
    """A lock held; a file lock cannot be lost while its file is open."""

    def confirm(self) -> None:
        """Raise ``LockLost`` when the lock is no longer held."""


class _Session(Held):
    def __init__(self, conn: Any, key: int) -> None:
        self._conn, self._key = conn, key

    def confirm(self) -> None:
        try:
            with self._conn.cursor() as cur:
                cur.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND pid = pg_backend_pid()"
                )  # the session holds this lock only
                held = cur.fetchone()[0] > 0
        except Exception as exc:  # the session is gone (psycopg2's errors)
            raise LockLost(f"advisory lock {self._key}: its session ended ({exc})") from exc
        if not held:
            raise LockLost(f"advisory lock {self._key} is no longer held")


def lock_name(purpose: str) -> str:
    """A name for ``purpose`` fit for a file name: its hash, not its text."""
    return hashlib.sha256(purpose.encode()).hexdigest()[:16]


def lock_key(purpose: str) -> int:
    """PostgreSQL's 64-bit advisory key for ``purpose`` (the same on every host)."""
    return int.from_bytes(hashlib.sha256(purpose.encode()).digest()[:8], "big", signed=True)


@contextmanager
def file_lock(path: Path, *, exclusive: bool, wait: bool = True) -> Iterator[Held]:
    with open(path, "a") as handle:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        try:
            fcntl.flock(handle, mode if wait else mode | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockHeld(f"{path.name} is held by another process") from None
        try:
            yield Held()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def advisory_lock(
    connect: Callable[[], Any], key: int, *, exclusive: bool, wait: bool = True
) -> Iterator[Held]:
    conn = connect()
    conn.autocommit = True
    kind = "" if exclusive else "_shared"
    held = False
    try:
        with conn.cursor() as cur:
            if not wait:
                cur.execute(f"SELECT pg_try_advisory_lock{kind}(%s)", (key,))
                if not cur.fetchone()[0]:
                    raise LockHeld(f"advisory lock {key} is held by another session")
            else:
                cur.execute(f"SELECT pg_advisory_lock{kind}(%s)", (key,))
        held = True
        yield _Session(conn, key)
    finally:
        # Given back before the session ends: a closed session's locks go only once its server
        # process has exited, after close returns, and a try at once may find them still held.
        if held:
            with suppress(Exception), conn.cursor() as cur:  # (a lost session: none)
                cur.execute(f"SELECT pg_advisory_unlock{kind}(%s)", (key,))
        conn.close()
