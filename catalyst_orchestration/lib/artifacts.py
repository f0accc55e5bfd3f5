"""Content-addressed artifact stores: raw document bytes and extracted text, named by sha256.

``LocalArtifactStore`` (``file://`` URIs under ``CATALYST_HOME/artifacts``) is the default;
``S3ArtifactStore`` (s3_artifacts.py) holds them on S3 when ``CATALYST_ARTIFACT_STORE`` is set.
A URI may carry a ``#fragment`` (``#line=N`` of a records file); readers drop it.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import unquote, urlparse


class ArtifactStore(Protocol):
    def put_stream(self, handle: BinaryIO, *, suffix: str = "") -> tuple[str, str, int]:
        """Store a file's bytes; (uri, sha256, size). Storing the same bytes twice is a no-op."""
        ...

    def put_bytes(self, data: bytes, *, suffix: str = "") -> tuple[str, str]: ...

    def read(self, uri: str) -> bytes: ...

    def open(self, uri: str) -> BinaryIO: ...

    def exists(self, uri: str) -> bool: ...


class LocalArtifactStore:
    """``file://`` URIs under one directory, named by sha256 so a file is stored once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha: str, suffix: str) -> Path:
        return self.root / "sha256" / sha[:2] / f"{sha}{suffix}"

    def put_stream(self, handle: BinaryIO, *, suffix: str = "") -> tuple[str, str, int]:
        """Copy an open file in, hashing as it goes; returns (uri, sha256, size).

        Storing the same bytes twice is a no-op. Later steps read this copy, never the source.
        """
        digest, size = hashlib.sha256(), 0
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{uuid.uuid4().hex}"
        try:
            with open(tmp, "wb") as out:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
                    size += len(block)
                    out.write(block)
            sha = digest.hexdigest()
            self._write_once(self._path(sha, suffix), lambda staged: os.replace(tmp, staged))
        finally:
            tmp.unlink(missing_ok=True)
        return self._path(sha, suffix).as_uri(), sha, size

    @staticmethod
    def local_path(uri: str) -> Path:
        """Where a stored artifact lies (its ``#fragment`` dropped)."""
        parsed = urlparse(uri)
        if parsed.scheme != "file":
            raise ValueError(f"unsupported artifact URI {uri!r}")
        return Path(unquote(parsed.path))

    def put_bytes(self, data: bytes, *, suffix: str = "") -> tuple[str, str]:
        sha = hashlib.sha256(data).hexdigest()
        target = self._path(sha, suffix)
        self._write_once(target, lambda tmp: tmp.write_bytes(data))
        return target.as_uri(), sha

    @staticmethod
    def _write_once(target: Path, write: Callable[[Path], object]) -> None:
        """Write through a temporary name so a reader never sees half an artifact."""
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{uuid.uuid4().hex}")
        write(tmp)
        os.replace(tmp, target)

    def read(self, uri: str) -> bytes:
        return self.local_path(uri).read_bytes()

    def open(self, uri: str) -> BinaryIO:
        return open(self.local_path(uri), "rb")

    def exists(self, uri: str) -> bool:
        try:
            return self.local_path(uri).is_file()
        except ValueError:
            return False
