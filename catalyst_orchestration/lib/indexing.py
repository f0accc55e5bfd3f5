"""The indexing step: embed what changed, upsert, delete stale chunks, publish, record.

Idempotent (decision 3): a document whose fingerprint matches the manifest is not re-embedded;
a changed document's chunks are overwritten in place (point ids are deterministic) and the
chunks beyond its new length are deleted; re-running a batch upserts the same ids again.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from catalyst_orchestration.lib.chunking import ChunkingConfig
from catalyst_orchestration.lib.records import Batch, ChunkedDocument, DocumentFailure
from catalyst_orchestration.lib.state import ManifestEntry
from catalyst_orchestration.lib.state_stores import StateBackend
from catalyst_search.embed.dense import DenseEncoder
from catalyst_search.embed.sparse import SparseEncoder
from catalyst_search.index.contract import IndexWriter
from catalyst_search.index.filters import FilterSpec, Match, Range, document_filter
from catalyst_search.index.schema import (
    HEADING,
    SCHEMA_VERSION,
    ChunkPoint,
    SparseVec,
    build_payload,
    heading_point_id,
    point_id,
)

EMBED_GROUP = 256  # chunks encoded and upserted together


@dataclass(frozen=True)
class IndexProgress:
    chunks_done: int
    chunks_total: int
    documents_done: int  # unchanged, failed, and embedded documents
    documents_total: int  # every document the source held


Progress = Callable[[IndexProgress], None]


def fingerprint(content_hash: str, *, chunking: ChunkingConfig, dense: str, sparse: dict) -> str:
    """What decides re-embedding: the content and every setting that shapes its vectors."""
    parts = [content_hash, chunking.fingerprint, dense, repr(sorted(sparse.items()))]
    parts.append(f"schema:{SCHEMA_VERSION}")
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass
class IndexOutcome:
    seen: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0  # documents gone from the source, their chunks removed
    failed: int = 0
    chunks_written: int = 0
    chunks_deleted: int = 0
    index_version: str | None = None
    embed_s: float = 0.0  # waiting on the dense encoder (it runs ahead, _encoded), and BM25
    write_s: float = 0.0
    publish_s: float = 0.0
    failures: list[DocumentFailure] = field(default_factory=list)


def index_batch(
    batch: Batch,
    *,
    writer: IndexWriter,
    dense: DenseEncoder,
    sparse: SparseEncoder,
    state: StateBackend,
    collection: str,
    chunking: ChunkingConfig,
    progress: Progress | None = None,
) -> IndexOutcome:
    docs: list[ChunkedDocument] = batch.items
    tenant = batch.tenant_id
    outcome = IndexOutcome(seen=batch.seen, failures=list(batch.failures))
    if writer.count(FilterSpec()) == 0:
        state.forget_collection(collection)  # the index was wiped: the manifest is stale
    prior = state.manifest(collection, tenant, (d.document.document_id for d in docs))
    todo: list[tuple[ChunkedDocument, str, ManifestEntry | None]] = []
    for doc in docs:
        fp = fingerprint(
            doc.document.content_hash, chunking=chunking, dense=dense.name, sparse=sparse.config
        )
        before = prior.get(doc.document.document_id)
        if before is not None and before.fingerprint == fp and before.source == batch.source:
            outcome.unchanged += 1
            continue  # (a document that moved from another source is written again, so its
            # chunks and manifest row name the source that now holds it)
        if before is None:
            outcome.new += 1
        else:
            outcome.changed += 1
        todo.append((doc, fp, before))

    total_chunks = sum(len(doc.chunks) for doc, _, _ in todo)
    # Encode chunks of similar length together: a batch pads to its longest text, so sorting
    # the whole batch by length (not just each encode call) cuts the padding MiniLM computes.
    pending: list[tuple[ChunkedDocument, int]] = sorted(
        ((doc, i) for doc, _, _ in todo for i in range(len(doc.chunks))),
        key=lambda item: len(item[0].chunks[item[1]].embed_text),
    )
    embedded: Counter[str] = Counter()
    finished = outcome.unchanged + len(outcome.failures)
    groups = [pending[start : start + EMBED_GROUP] for start in range(0, len(pending), EMBED_GROUP)]
    group_texts = [[doc.chunks[i].embed_text for doc, i in group] for group in groups]
    encoded = _encoded(group_texts, dense)
    for group, texts, (dense_vectors, encode_s) in zip(groups, group_texts, encoded, strict=True):
        mark = time.perf_counter()
        sparse_vectors = [
            SparseVec([], []) if doc.chunks[i].heading else sparse.encode_document(text)
            for (doc, i), text in zip(group, texts, strict=True)
        ]  # a heading is dense evidence only: its words are in the document's chunks
        outcome.embed_s += encode_s + time.perf_counter() - mark
        points = [
            _point(tenant, batch.source, doc, i, dense_vectors[n].tolist(), sparse_vectors[n])
            for n, (doc, i) in enumerate(group)
        ]
        mark = time.perf_counter()
        writer.upsert(points)
        outcome.write_s += time.perf_counter() - mark
        outcome.chunks_written += len(points)
        for doc, _ in group:
            embedded[doc.document.document_id] += 1
            if embedded[doc.document.document_id] == len(doc.chunks):
                finished += 1
        if progress:
            progress(IndexProgress(outcome.chunks_written, total_chunks, finished, batch.seen))

    mark = time.perf_counter()
    for doc, _, before in todo:
        if before is None:
            continue
        body = sum(1 for c in doc.chunks if not c.heading)
        document = document_filter(tenant, doc.document.document_id)
        stale = []
        if before.chunk_count > body:  # chunks past the new last one (a heading shows chunk 0)
            stale.append(document.and_(Range("chunk_no", gte=body)))
        if body == len(doc.chunks):  # no heading now: drop the one it may have had
            stale.append(document.and_(Match("chunk_kind", (HEADING,))))
        for flt in stale:
            outcome.chunks_deleted += writer.count(flt)
            writer.delete(flt)
    outcome.write_s += time.perf_counter() - mark

    mark = time.perf_counter()
    gone = _gone(batch, state, collection, kept={d.document.document_id for d in docs})
    for document_id in sorted(gone):  # only the chunks this source wrote
        every_chunk = document_filter(tenant, document_id).and_(Match("source", (batch.source,)))
        outcome.chunks_deleted += writer.count(every_chunk)
        writer.delete(every_chunk)
    outcome.deleted = len(gone)
    outcome.write_s += time.perf_counter() - mark

    mark = time.perf_counter()
    changed_index = bool(todo or gone)
    outcome.index_version = writer.publish() if changed_index else writer.current_version()
    outcome.publish_s = time.perf_counter() - mark
    state.record(
        collection,
        tenant,
        [
            ManifestEntry(doc.document.document_id, batch.source, fp, len(doc.chunks))
            for doc, fp, _ in todo
        ],
    )
    state.forget(collection, tenant, gone)
    outcome.failed = len(outcome.failures)
    return outcome


def _encoded(
    group_texts: list[list[str]], dense: DenseEncoder
) -> Iterator[tuple[np.ndarray, float]]:
    """Each group's dense vectors and the seconds the caller waited for them. The next group
    encodes in a thread while the caller writes this one: the encoder holds no GIL in its
    session calls, and the write's one core of Python would otherwise leave the other idle."""
    if not group_texts:
        return
    with ThreadPoolExecutor(1, thread_name_prefix="index-encode") as pool:
        ahead = pool.submit(dense.encode, group_texts[0])
        for following in [*group_texts[1:], None]:
            mark = time.perf_counter()
            vectors = ahead.result()
            waited = time.perf_counter() - mark
            if following is not None:
                ahead = pool.submit(dense.encode, following)
            yield vectors, waited


def _gone(batch: Batch, state: StateBackend, collection: str, *, kept: set[str]) -> set[str]:
    """Documents this source indexed that it no longer holds: the ones its complete listing
    lacks, and the ones it says are gone (404/410). Only this source's own documents."""
    known = state.source_documents(collection, batch.tenant_id, batch.source)
    gone = set(batch.gone)
    if batch.listed is not None:
        gone |= known - batch.listed
    return (gone & known) - kept


def _point(
    tenant: str, source: str, doc: ChunkedDocument, i: int, dense: list[float], sparse: object
) -> ChunkPoint:
    d, chunk = doc.document, doc.chunks[i]
    payload = build_payload(
        tenant_id=tenant,
        document_id=d.document_id,
        chunk_no=0 if chunk.heading else chunk.chunk_no,  # a heading shows the first chunk
        text=chunk.text,
        title=d.title,
        source=source,
        artifact_uri=d.artifact_uri,
        content_hash=d.content_hash,
        mime=d.mime,
        track=chunk.track,
        icd_codes=d.icd_codes,
        metadata=d.metadata,
    )
    if chunk.heading:
        payload["chunk_kind"] = HEADING
    pid = (
        heading_point_id(tenant, d.document_id)
        if chunk.heading
        else point_id(tenant, d.document_id, chunk.chunk_no)
    )
    return ChunkPoint(
        id=pid,
        dense=dense,
        sparse=sparse,  # type: ignore[arg-type]
        payload=payload,
    )


def source_filter(tenant: str, source: str) -> FilterSpec:
    return FilterSpec(must=(Match("tenant_id", (tenant,)), Match("source", (source,))))
