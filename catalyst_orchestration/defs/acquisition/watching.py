"""Sync runs of watched sources, as the sensors and the re-sync schedule request them.

Each requested run belongs to a job record (origin ``sensor`` or ``schedule``), so a tenant
follows it with ``GET /ingest/jobs`` like any ingest. The job id derives from the run key and is
created once; the run is requested every time (Dagster launches a run key once), so a tick that
failed halfway leaves no job waiting for a run that never comes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg

from catalyst_orchestration.defs.partitions import PARTITIONS, register_source
from catalyst_orchestration.lib.sources.s3 import version_of
from catalyst_orchestration.lib.state_locks import LockHeld
from catalyst_orchestration.lib.state_stores import StateBackend
from catalyst_search.ingest_requests.contract import JOB_TAG, TENANT_TAG
from catalyst_search.ingest_requests.jobs import JobStore
from catalyst_search.ingest_requests.sources import InvalidSource, check_source
from catalyst_search.ingest_requests.watches import Watch
from catalyst_search.outbound import ResolutionUnavailable
from catalyst_search.settings import Settings

WATCH_TAG = "catalyst/watch_id"
#: Files of a folder, or objects of an S3 prefix, that a watch's digest covers.
MAX_DIGESTED = 100_000


class WatchRemoved(RuntimeError):
    """The watch is gone (unwatched or retired) since the tick listed it: no run for it."""


class IndexBusy(RuntimeError):
    """The index lock is held exclusively (a rebuild's swap, a retire): try at a later tick."""


def sync_request(
    instance: dg.DagsterInstance,
    state: StateBackend,
    jobs: JobStore,
    watch: Watch,
    *,
    run_key: str,
    origin: str,
) -> dg.RunRequest:
    """A run of ``watch``'s partition under its job record (created on the first request)."""
    job_id = uuid.uuid5(uuid.NAMESPACE_URL, f"catalyst:{run_key}").hex
    try:  # a retire_source removes the watch and the source holding it exclusively
        with state.index_lock(wait=False):  # (as does a rebuild's last round: not waited for)
            if not jobs.watches.has(watch.watch_id):
                raise WatchRemoved(f"{watch.uri}: its watch was removed while the tick ran")
            source = register_source(instance, state, tenant_id=watch.tenant_id, uri=watch.uri)
    except LockHeld:
        raise IndexBusy(f"{watch.uri}: a rebuild's swap or a retire holds the index") from None
    if not jobs.exists(job_id):
        metadata = {"origin": origin, "watch_id": watch.watch_id}
        jobs.create(
            job_id=job_id, tenant_id=watch.tenant_id, sources=[watch.uri], metadata=metadata
        )
    return dg.RunRequest(
        run_key=run_key,
        partition_key=source.partition_key,
        tags={JOB_TAG: job_id, TENANT_TAG: watch.tenant_id, WATCH_TAG: watch.watch_id},
    )


def launchable(
    instance: dg.DagsterInstance, jobs: JobStore, requests: list[dg.RunRequest], log: Any
) -> list[dg.RunRequest]:
    """The tick's requests whose partition is still there. A source retired while the tick ran
    has lost it, and a request for it would fail the whole tick: it is left out, and its job
    record ends here rather than wait for a run that never comes."""
    kept = []
    for request in requests:
        if instance.has_dynamic_partition(PARTITIONS, request.partition_key or ""):
            kept.append(request)
            continue
        job_id = request.tags[JOB_TAG]
        job = jobs.get(job_id)
        for uri in job.sources if job else []:
            jobs.run_finished(
                job_id, uri, status="cancelled", error="its source was retired before it ran"
            )
        log.info(f"job {job_id}: its source was retired while the tick ran; no run")
    return kept


def allowed(watches: Iterable[Watch], settings: Settings, log: logging.Logger) -> list[Watch]:
    """The watches their tenant's rules still allow (roots and policy may have changed)."""
    kept = []
    for watch in watches:
        try:
            check_source(watch.uri, rules=settings.source_rules(watch.tenant_id))
        except InvalidSource as exc:
            log.warning(f"watched source {watch.watch_id} of {watch.tenant_id} skipped: {exc}")
            continue
        except ResolutionUnavailable as exc:  # the DNS failing now: the run checks it again
            log.warning(f"watched source {watch.watch_id} of {watch.tenant_id}: {exc}; synced")
        kept.append(watch)
    return kept


def folder_digest(uri: str) -> str:
    """What changes when a file under the folder (or the records file) is added, changed or
    removed."""
    digest = hashlib.sha256()
    root = Path(uri)
    if root.is_file():
        stat = root.stat()
        return hashlib.sha256(f"{stat.st_size}\x1f{stat.st_mtime_ns}".encode()).hexdigest()[:32]
    for n, path in enumerate(_visible_files(root)):
        if n >= MAX_DIGESTED:
            break
        rel = path.relative_to(root)
        stat = path.stat()
        digest.update(f"{rel.as_posix()}\x1f{stat.st_size}\x1f{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32]


def _visible_files(root: Path) -> Iterator[Path]:
    """The files under ``root``, folder by folder in name order (the same order every tick),
    hidden ones (a ``.git`` among them) left out: one folder's names in memory at a time."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # walked in this order
        for name in sorted(f for f in files if not f.startswith(".")):
            path = Path(folder, name)
            if path.is_file():
                yield path


def s3_digest(objects: Iterable[dict]) -> str:
    """A digest of the first ``MAX_DIGESTED`` objects of a listing, taken as it streams
    (S3 lists by key): a prefix of millions of objects costs a tick no memory, and a change
    past them waits for the nightly re-sync, as in a folder."""
    digest = hashlib.sha256()
    for n, obj in enumerate(objects):
        if n >= MAX_DIGESTED:
            break
        digest.update(f"{obj['Key']}\x1f{version_of(obj)}\x1f{obj['Size']}\n".encode())
    return digest.hexdigest()[:32]
