"""Which sources an ingest request may name: folders or JSONL record files under the roots,
and the S3 prefixes and web pages of ``remote.py``.

Ingest sources are not a file-read primitive: a path is resolved (symlinks and ``..``) and
must then lie under one of the configured roots (``CATALYST_SOURCE_ROOTS``), on every path
that submits work: the HTTP API, the CLI, the sensor and the acquisition step itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from catalyst_search.ingest_requests.contract import RECORD_SUFFIXES
from catalyst_search.ingest_requests.remote import (
    RemoteSourceError,
    SourceRules,
    check_remote,
    source_kind,
)
from catalyst_search.outbound import ResolutionUnavailable

#: Most sources one job may name.
MAX_SOURCES = 100


class InvalidSource(ValueError):
    """A source that cannot be ingested; the message says which and why."""


def root_of(path: Path, roots: Sequence[Path]) -> Path | None:
    """The one of ``roots`` that ``path`` (resolved, symlinks followed) lies under, if any;
    of nested roots the deepest, whatever their order: a folder's files are named by their
    path under it (``lib/sources/local.py``), so the names do not hang on the setting's order."""
    resolved = path.resolve()
    holding = [r for r in roots if resolved == r or resolved.is_relative_to(r)]
    return max(holding, key=lambda r: len(r.parts), default=None)


def under_roots(path: Path, roots: Sequence[Path]) -> bool:
    return root_of(path, roots) is not None


def require_under_roots(path: Path, roots: Sequence[Path], *, where: str = "source") -> Path:
    """The root ``path`` lies under, or ``InvalidSource`` naming the roots."""
    root = root_of(path, roots)
    if root is None:
        allowed = ", ".join(str(root) for root in roots)
        raise InvalidSource(
            f"{where}: {path} is outside the source roots ({allowed}); "
            "move it under one or add its folder to CATALYST_SOURCE_ROOTS"
        )
    return root


def check_source(raw: str, *, rules: SourceRules, where: str = "source") -> str:
    """The resolved path (or checked URI) of ``raw``, or ``InvalidSource`` saying what is
    wrong with it."""
    if "\x00" in raw or len(raw) > 4096:
        raise InvalidSource(f"{where}: not a usable path")
    if source_kind(raw) != "folder":
        try:
            return check_remote(raw, rules, where=where)
        except RemoteSourceError as exc:
            raise InvalidSource(str(exc)) from None
    roots = rules.roots
    path = Path(raw)  # no "~" expansion: a service-side path is absolute (the CLI expands)
    if not path.is_absolute():
        raise InvalidSource(f"{where}: give an absolute path, got {raw!r}")
    try:
        require_under_roots(path, roots, where=where)
        exists, is_file, resolved = path.exists(), path.is_file(), path.resolve()
    except OSError as exc:  # a name too long for the filesystem, ...
        raise InvalidSource(f"{where}: not a usable path ({exc.strerror})") from None
    except RuntimeError as exc:  # Path.resolve on a loop of symlinks (Python 3.11)
        raise InvalidSource(f"{where}: not a usable path ({exc})") from None
    if not exists:
        raise InvalidSource(f"{where}: {raw} does not exist on the ingest host")
    if is_file and not path.name.lower().endswith(RECORD_SUFFIXES):
        raise InvalidSource(
            f"{where}: a file source must hold JSONL records ({', '.join(RECORD_SUFFIXES)})"
        )
    return str(resolved)


def check_sources(sources: list[str], *, rules: SourceRules) -> list[str]:
    """Check every source of one job: at least one, at most ``MAX_SOURCES``, each once. A name
    that cannot be resolved now (``ResolutionUnavailable``) is raised only when every other
    source is valid: a request that would be refused anyway is not told to retry."""
    if not sources:
        raise InvalidSource("sources: give at least one folder, JSONL file, s3:// or web URL")
    if len(sources) > MAX_SOURCES:
        raise InvalidSource(f"sources: at most {MAX_SOURCES} per job, got {len(sources)}")
    checked, unresolved = [], []
    for i, raw in enumerate(sources):
        try:
            checked.append(check_source(raw, rules=rules, where=f"sources[{i}]"))
        except ResolutionUnavailable as exc:
            checked.append(raw)
            unresolved.append(exc)
    if len(set(checked)) != len(checked):
        raise InvalidSource("sources: each source may appear once per job")
    if unresolved:
        raise unresolved[0]
    return checked
