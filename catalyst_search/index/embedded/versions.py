"""Immutable index versions on local disk: one writer under a lock, many readers.

Layout under the index root::

    writer.lock          exclusive flock held by the one writer
    live/                the writer's working shard
    live.dirty           present while live/ holds writes that were not published
    versions/v00000042/  published; no writer touches it again
    CURRENT              name of the newest published version
    readers/<pid>-<id>   leases: the version each reading process has loaded

A crash mid-write leaves ``live.dirty``; the next writer rebuilds ``live/`` from the current
version, so a published version and the ingestion manifest always agree.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

VERSION_PREFIX = "v"


class IndexLockTimeout(TimeoutError):
    """Another writer holds the index lock. Transient: retry later."""


@contextlib.contextmanager
def writer_lock(root: Path, *, timeout_s: float) -> Iterator[None]:
    """Hold the exclusive writer lock, waiting up to ``timeout_s`` for it."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "writer.lock", "a+") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexLockTimeout(
                        f"another process holds {root / 'writer.lock'} (waited {timeout_s:.0f}s)"
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def current_version(root: Path) -> str | None:
    try:
        name = (root / "CURRENT").read_text().strip()
    except FileNotFoundError:
        return None
    return name or None


def version_dir(root: Path, name: str) -> Path:
    return root / "versions" / name


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    with open(tmp, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync(path.parent, folder=True)  # the rename itself


def copy_shard(src: Path, dst: Path) -> None:
    """Copy a shard directory keeping holes (Qdrant preallocates large sparse files), and make
    the copy durable before returning: a version that ``CURRENT`` names, or a writer's shard
    rebuilt from one, must not be half on disk after a power cut.

    Blocks are shared where the filesystem can (XFS with reflink, btrfs; GNU cp 9 does this by
    default, the flag makes older ones do it too): the copy then takes milliseconds however
    large the shard, and a block written afterwards on either side is copied first, so what the
    writer does to ``live/`` later never reaches a version. Elsewhere (ext4) every byte is
    copied. Not hard links: Qdrant Edge writes into a shard's files when it loads it
    (docs/architecture.md).
    """
    subprocess.run(
        ["cp", "-a", "--sparse=always", "--reflink=auto", str(src), str(dst)], check=True
    )
    fsync_tree(dst)


def fsync_tree(root: Path) -> None:
    """fsync every regular file under ``root``, then every directory from the deepest up to
    ``root`` and its parent (so the entries, ``root``'s own included, are durable too).
    Symbolic links are not followed (a shard has none)."""
    folders = [root]
    for top, dirs, files in os.walk(root):
        for path in (Path(top) / name for name in files):
            if not path.is_symlink() and path.is_file():
                _fsync(path)
        folders += [Path(top) / name for name in dirs if not (Path(top) / name).is_symlink()]
    for path in [*reversed(folders), root.parent]:
        _fsync(path, folder=True)


def create_durably(path: Path) -> None:
    """Create the empty file ``path`` (if missing) and make its name durable in its folder."""
    path.touch()
    _fsync(path.parent, folder=True)


def _fsync(path: Path, *, folder: bool = False) -> None:
    """fsync the file ``path``, or with ``folder`` the directory (its entries: names, renames)."""
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if folder else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _version_number(name: str) -> int:
    return int(name[len(VERSION_PREFIX) :])


def list_versions(root: Path) -> list[str]:
    base = root / "versions"
    if not base.exists():
        return []
    names = [p.name for p in base.iterdir() if p.name.startswith(VERSION_PREFIX) and p.is_dir()]
    return sorted(names, key=_version_number)


def publish(root: Path, live: Path) -> str:
    """Copy ``live`` into a new immutable version and point CURRENT at it."""
    existing = list_versions(root)
    name = f"{VERSION_PREFIX}{(_version_number(existing[-1]) + 1) if existing else 1:08d}"
    if not (root / "versions").exists():
        (root / "versions").mkdir(parents=True)
        _fsync(root, folder=True)  # its name, before CURRENT's can be
    staging = root / "versions" / f".staging-{name}"
    shutil.rmtree(staging, ignore_errors=True)
    copy_shard(live, staging)
    os.replace(staging, version_dir(root, name))
    _fsync(root / "versions", folder=True)  # the rename, before CURRENT
    _write_atomic(root / "CURRENT", name)
    return name


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def leased_versions(root: Path) -> set[str]:
    """Versions some live reading process still has loaded; stale leases are removed. A lease
    being written (``.<pid>-<id>.<random>``, renamed into place when complete) is left to its
    living writer, and removed when its writer is gone."""
    leases = root / "readers"
    used: set[str] = set()
    if not leases.exists():
        return used
    for lease in leases.iterdir():
        owner = lease.name.removeprefix(".").split("-", 1)[0]
        pid = int(owner) if owner.isdigit() else -1
        if pid < 0 or not _pid_alive(pid):
            lease.unlink(missing_ok=True)
            continue
        if lease.name.startswith("."):  # half-written: its version is read once it is renamed
            continue
        with contextlib.suppress(FileNotFoundError):
            used.add(lease.read_text().strip())
    return used


def collect_garbage(root: Path, *, keep: int) -> list[str]:
    """Remove versions beyond the newest ``keep`` that no reader holds. Returns what went."""
    names = list_versions(root)
    protected = set(names[-keep:]) | leased_versions(root)
    current = current_version(root)
    if current:
        protected.add(current)
    removed = []
    for name in names:
        if name not in protected:
            shutil.rmtree(version_dir(root, name), ignore_errors=True)
            removed.append(name)
    return removed


class ReaderLease:
    """Tells writers which version this process reads, so they do not delete it."""

    def __init__(self, root: Path) -> None:
        self._path = root / "readers" / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def hold(self, version: str) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(self._path, version)

    def release(self) -> None:
        self._path.unlink(missing_ok=True)
