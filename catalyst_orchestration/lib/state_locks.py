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


#: A lock's connection, both ends: probes after 30 s idle, every 10 s, 3 times. libpq's own
#: tell this process that the server is gone, and ``tcp_user_timeout`` bounds a send left
#: unacknowledged (probes stop while one is: a network split mid-query); the server's, set
#: for the session (``lock_connection``), tell it that this host is gone, freeing its locks.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
              "keepalives_count": 3, "tcp_user_timeout": 60_000}  # fmt: skip
SERVER_KEEPALIVES = (
    "-c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3"
)


def lock_connection(url: str) -> dict[str, Any]:
    """libpq parameters of a lock's connection to ``url``: the URL's own, the keepalives, and
    the server's keepalives added to any ``options`` the URL gives."""
    from psycopg2.extensions import parse_dsn

    params: dict[str, Any] = {**parse_dsn(url), **KEEPALIVES}
    params["options"] = " ".join(filter(None, [params.get("options"), SERVER_KEEPALIVES]))
    return params


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
        try:
            if held:
                with suppress(Exception), conn.cursor() as cur:  # (a lost session: none)
                    cur.execute(f"SELECT pg_advisory_unlock{kind}(%s)", (key,))
        finally:
            conn.close()
