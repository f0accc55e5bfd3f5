"""Content-addressed artifact store on local disk (S3 arrives with dagster-aws later)."""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class LocalArtifactStore:
    """``file://`` URIs under one directory, named by sha256 so a file is stored once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha: str, suffix: str) -> Path:
        return self.root / "sha256" / sha[:2] / f"{sha}{suffix}"

    def put_file(self, source: Path, *, sha: str | None = None) -> tuple[str, str]:
        """Store a file; returns (uri, sha256). Storing the same bytes twice is a no-op."""
        sha = sha or sha256_file(source)
        target = self._path(sha, "".join(source.suffixes[-2:]))
        self._write_once(target, lambda tmp: shutil.copyfile(source, tmp))
        return target.as_uri(), sha

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

    @staticmethod
    def read(uri: str) -> bytes:
        parsed = urlparse(uri)
        if parsed.scheme != "file":
            raise ValueError(f"unsupported artifact URI {uri!r}")
        return Path(parsed.path).read_bytes()
