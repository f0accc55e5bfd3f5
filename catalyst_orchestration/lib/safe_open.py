"""Open a file under a source root without following a symlink anywhere on the way.

The roots check resolves a path once; a symlink swapped in afterwards, or a hard link to a file
elsewhere, would still lead out of the root. Opening each component relative to the previous
one with ``O_NOFOLLOW`` turns such a swap into an error, and ``fstat`` on the opened file
refuses a second name (a hard link) and anything but a regular file.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO


class EscapesRoot(PermissionError):
    """The path leaves its root: a symlink on the way, a hard link, not a regular file."""


def open_under(root: Path, path: Path) -> BinaryIO:
    """``path`` (resolved, under ``root``) opened for reading, component by component."""
    parts = path.relative_to(root).parts
    if not parts:
        raise EscapesRoot(f"{path} is a source root, not a file in one")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = inner
        file_fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise EscapesRoot(f"{path}: a symlink on the way out of the source root") from exc
        raise
    finally:
        os.close(fd)
    info = os.fstat(file_fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        os.close(file_fd)
        why = "a hard link (a second name)" if info.st_nlink != 1 else "not a regular file"
        raise EscapesRoot(f"{path}: {why}; not read")
    return os.fdopen(file_fd, "rb")
