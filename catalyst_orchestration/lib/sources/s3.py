"""S3 sources (``s3://bucket/prefix``): every object under the prefix, listed incrementally.

An object whose ETag is the one seen last time, and whose bytes are still in the artifact
store, is not downloaded again; a changed object is; an object no longer listed is gone. The
document id is the object's ``s3://bucket/key``. Retries of S3 calls are botocore's own
(standard mode, ``S3Resource.max_attempts``); they are counted from its response metadata.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from catalyst_orchestration.lib.artifacts import ArtifactStore
from catalyst_orchestration.lib.failures import is_transient
from catalyst_orchestration.lib.records import DocumentFailure, RawDocument
from catalyst_orchestration.lib.s3_artifacts import missing
from catalyst_orchestration.lib.sources.base import Acquired
from catalyst_orchestration.lib.sources.fetching import FetchStats
from catalyst_orchestration.lib.sources.local import guess_mime, safe_suffix
from catalyst_orchestration.lib.state import RemoteObject
from catalyst_orchestration.lib.state_stores import StateBackend
from catalyst_search.ingest_requests.remote import key_in, parse_s3_uri


def _retries(response: dict[str, Any], stats: FetchStats) -> None:
    count = int(response.get("ResponseMetadata", {}).get("RetryAttempts", 0) or 0)
    if count:
        stats.retries["s3"] += count


def list_objects(client: Any, uri: str) -> Iterator[dict[str, Any]]:
    """Every object under the prefix (folder markers and hidden names left out), a listing
    page at a time, in S3's order (by key)."""
    bucket, prefix = parse_s3_uri(uri)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if not key_in(key, prefix):
                continue  # tenants/t1 lists tenants/t1x/... too: never a sibling's objects
            rest = key[len(prefix) :].lstrip("/") or PurePosixPath(key).name
            if key.endswith("/") or any(part.startswith(".") for part in rest.split("/")):
                continue
            yield obj


def acquire_s3(
    uri: str, client: Any, store: ArtifactStore, state: StateBackend, *, max_bytes: int
) -> Acquired:
    bucket, _ = parse_s3_uri(uri)
    stats = FetchStats("s3")
    out = Acquired([], [], 0, listed=set(), stats=stats)
    cached = state.remote_objects(uri)
    for obj in list_objects(client, uri):
        key, size = obj["Key"], int(obj["Size"])
        etag = version_of(obj)
        doc_id = f"s3://{bucket}/{key}"
        out.seen += 1
        assert out.listed is not None
        out.listed.add(doc_id)
        if size > max_bytes:
            out.failures.append(
                DocumentFailure(
                    doc_id,
                    "acquire",
                    "Oversize",
                    f"{size} bytes > {max_bytes}",
                    "permanent",
                    doc_id,
                )
            )
            stats.failures["permanent"] += 1
            continue
        hit = cached.get(key)
        if hit is None or hit.etag != etag or not store.exists(hit.artifact_uri):
            try:
                hit = _download(client, bucket, key, etag, store, stats)
            except (ClientError, BotoCoreError, OSError) as exc:
                if isinstance(exc, ClientError) and missing(exc):  # deleted since listed
                    out.listed.discard(doc_id)
                    out.seen -= 1
                    continue
                out.failures.append(_failure(doc_id, exc, stats))
                continue
            state.record_remote_objects(uri, [hit], keep=None)  # a failure later keeps it
        out.documents.append(
            RawDocument(
                document_id=doc_id,
                location=doc_id,
                mime=hit.mime,
                sha256=hit.sha256,
                artifact_uri=hit.artifact_uri,
                size=hit.size,
                metadata={"file_name": PurePosixPath(key).name, "s3_etag": etag},
            )
        )
    keys = {doc_id[len(f"s3://{bucket}/") :] for doc_id in out.listed or ()}
    state.record_remote_objects(uri, [], keep=keys)
    return out


def version_of(obj: dict[str, Any]) -> str:
    """What tells an object's versions apart: its ETag, or its time and size when a store
    sends none."""
    etag = str(obj.get("ETag") or "").strip('"')
    return etag or f"{obj.get('LastModified')}/{obj.get('Size')}"


def _failure(doc_id: str, exc: Exception, stats: FetchStats) -> DocumentFailure:
    klass = "transient" if is_transient(exc) else "permanent"
    stats.failures[klass] += 1
    error = type(exc).__name__
    if isinstance(exc, ClientError):
        error = str(exc.response.get("Error", {}).get("Code") or error)
    return DocumentFailure(doc_id, "acquire", error, str(exc)[:300], klass, doc_id)  # type: ignore[arg-type]


def _download(
    client: Any, bucket: str, key: str, etag: str, store: ArtifactStore, stats: FetchStats
) -> RemoteObject:
    stats.fetches += 1
    response = client.get_object(Bucket=bucket, Key=key)
    _retries(response, stats)
    suffix = safe_suffix(PurePosixPath(key).name)
    with response["Body"] as body:
        artifact_uri, sha, size = store.put_stream(body, suffix=suffix)
    stats.bytes += size
    mime = guess_mime(PurePosixPath(key))  # type: ignore[arg-type]
    if mime == "application/octet-stream":
        mime = str(response.get("ContentType") or mime).split(";", 1)[0].strip()
    return RemoteObject(key, etag, sha, artifact_uri, size, mime)
