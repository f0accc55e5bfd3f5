"""Local sources: a folder of files, or a JSONL records file (plain or gzipped).

Acquisition turns a source into raw documents whose bytes sit in the artifact store. A file it
cannot read or a record line it cannot split off is a failure of that document alone.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from catalyst_orchestration.lib.artifacts import ArtifactStore
from catalyst_orchestration.lib.records import DocumentFailure, RawDocument
from catalyst_orchestration.lib.safe_open import EscapesRoot, open_under
from catalyst_orchestration.lib.sources.base import Acquired
from catalyst_search.ingest_requests.contract import RECORD_SUFFIXES
from catalyst_search.ingest_requests.sources import require_under_roots, under_roots

RECORD_MIME = "application/x-catalyst-record+json"

_EXTRA_TYPES = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".txt": "text/plain",
    ".html": "text/html",
    ".htm": "text/html",
    ".pdf": "application/pdf",
    ".json": "application/json",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
}


def guess_mime(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in _EXTRA_TYPES:
        return _EXTRA_TYPES[suffix]
    mime, _ = mimetypes.guess_type(path.name)
    return mime or "application/octet-stream"


def is_records_file(path: Path) -> bool:
    return path.name.lower().endswith(RECORD_SUFFIXES)


def acquire(source: Path, store: ArtifactStore, *, roots: Sequence[Path]) -> Acquired:
    """Read every document of ``source`` into the artifact store.

    ``source`` must lie under ``roots`` (``InvalidSource`` otherwise), and so must every file
    read from it: a symlink inside the folder that points elsewhere is a failure of its own,
    never read. The listing is complete: a file deleted since the last sync is gone.
    """
    unreadable: list[OSError] = []
    acquired = _acquire(source, store, roots=roots, walk_errors=unreadable)
    ids = [f.document_id for f in acquired.failures] + [d.document_id for d in acquired.documents]
    # records get their ids when parsed (parse_batch completes the listing); a file or line
    # that failed without an id, or a subfolder that could not be listed, leaves the listing
    # unknown, and nothing is deleted
    complete = None not in ids and not unreadable
    acquired.listed = {i for i in ids if i} if complete else None
    for error in unreadable[:20]:
        acquired.failures.append(
            DocumentFailure(
                str(error.filename), "acquire", "UnreadableFolder", str(error), "transient"
            )  # fmt: skip
        )
    return acquired


def _files(folder: Path, errors: list[OSError]) -> list[Path]:
    """Every file under ``folder``; folders that cannot be listed are added to ``errors``
    (``rglob`` would skip them silently, and their documents would look deleted)."""
    found = []
    for top, _, names in os.walk(folder, onerror=errors.append, followlinks=True):
        found += [Path(top) / name for name in names]
    return sorted(p for p in found if p.is_file())


def _acquire(
    source: Path, store: ArtifactStore, *, roots: Sequence[Path], walk_errors: list[OSError]
) -> Acquired:
    root = require_under_roots(source, roots)  # first: say nothing of paths outside
    source = source.resolve()
    if not source.exists():
        raise FileNotFoundError(f"source {source} does not exist")
    docs: list[RawDocument] = []
    failures: list[DocumentFailure] = []
    seen = 0
    if source.is_file() and is_records_file(source):
        for item in _records(root, source, store):
            seen += 1
            (docs if isinstance(item, RawDocument) else failures).append(item)  # type: ignore[arg-type]
        return Acquired(docs, failures, seen)
    files = [source] if source.is_file() else _files(source, walk_errors)
    base = source.parent if source.is_file() else source
    for path in files:
        if any(part.startswith(".") for part in path.relative_to(base).parts):
            continue  # hidden files and folders (.git, .DS_Store) are not documents
        target = path.resolve()  # a symlink to a file inside the source reads that file
        if not under_roots(target, [base]):
            seen += 1
            failures.append(_escaped(path, root, "a symlink to a file outside the source"))
            continue
        if is_records_file(path):
            for item in _records(root, path, store):
                seen += 1
                (docs if isinstance(item, RawDocument) else failures).append(item)  # type: ignore[arg-type]
            continue
        seen += 1
        rel = path.relative_to(root).as_posix()  # the file's id: unique within the tenant
        try:
            with open_under(root, target) as handle:
                uri, sha, size = store.put_stream(handle, suffix=_suffix(path))
        except EscapesRoot as exc:
            failures.append(_escaped(path, root, str(exc)))
            continue
        except OSError as exc:
            failures.append(
                DocumentFailure(str(path), "acquire", "UnreadableFile", str(exc), "transient", rel)
            )
            continue
        docs.append(
            RawDocument(
                document_id=rel,
                location=str(path),
                mime=guess_mime(path),
                sha256=sha,
                artifact_uri=uri,
                size=size,
                metadata={"file_name": path.name},
            )
        )
    return Acquired(docs, failures, seen)


def safe_suffix(name: str) -> str:
    """The artifact suffix of a file name (``.pdf``, ``.jsonl.gz``): letters, digits and dots
    only, so the artifact's URI needs no escaping."""
    suffixes = "".join(PurePosixPath(name).suffixes[-2:])
    return re.sub(r"[^A-Za-z0-9.]", "", suffixes)[:16]


def _suffix(path: Path) -> str:
    return safe_suffix(path.name)


def _escaped(path: Path, root: Path, why: str) -> DocumentFailure:
    rel = path.relative_to(root).as_posix()
    message = f"{why}; not read"
    return DocumentFailure(str(path), "acquire", "OutsideSourceRoots", message, "permanent", rel)


def _records(
    root: Path, path: Path, store: ArtifactStore
) -> Iterator[RawDocument | DocumentFailure]:
    """One raw document per non-blank line; the file is copied in once and read from the copy."""
    try:
        with open_under(root, path.resolve()) as source:
            uri, _, _ = store.put_stream(source, suffix=_suffix(path))
    except EscapesRoot as exc:
        yield DocumentFailure(str(path), "acquire", "OutsideSourceRoots", str(exc), "permanent")
        return
    try:
        with store.open(uri) as stored, _maybe_gunzip(path, stored) as handle:
            for line_no, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                data = line.rstrip(b"\r\n")
                yield RawDocument(
                    document_id="",  # known once the record is parsed
                    location=f"{path}:{line_no}",
                    mime=RECORD_MIME,
                    sha256=hashlib.sha256(data).hexdigest(),
                    artifact_uri=f"{uri}#line={line_no}",
                    size=len(data),
                    inline=data,
                )
    except (OSError, EOFError) as exc:  # truncated gzip, unreadable file
        yield DocumentFailure(str(path), "acquire", "UnreadableFile", str(exc), "permanent")


def _maybe_gunzip(path: Path, stored: BinaryIO) -> BinaryIO:
    if path.name.lower().endswith(".gz"):
        return gzip.GzipFile(fileobj=stored, mode="rb")  # type: ignore[return-value]
    return stored
