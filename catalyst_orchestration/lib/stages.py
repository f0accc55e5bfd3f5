"""Batch-level parse and chunk steps: one bad document is recorded, the rest go on."""

from __future__ import annotations

from dataclasses import replace
from pathlib import PurePosixPath

from catalyst_orchestration.lib.artifacts import ArtifactStore
from catalyst_orchestration.lib.chunking import Chunker
from catalyst_orchestration.lib.failures import PermanentDocumentError, is_transient
from catalyst_orchestration.lib.parsers import parse
from catalyst_orchestration.lib.records import (
    Batch,
    ChunkedDocument,
    DocumentFailure,
    ParsedDocument,
    RawDocument,
)


def parse_batch(batch: Batch, store: ArtifactStore) -> Batch:
    """Raw documents -> parsed documents. Transient read errors propagate (the step retries).

    The text extracted from a stored file (not from an inline record) is stored too, and its
    URI kept as ``text_uri`` in the document's metadata.
    """
    parsed: dict[str, ParsedDocument] = {}
    failures = list(batch.failures)
    listed = set(batch.listed) if batch.listed is not None else None
    for raw in batch.items:
        assert isinstance(raw, RawDocument)
        try:
            data = raw.inline if raw.inline is not None else store.read(raw.artifact_uri)
            result = parse(data, raw.mime, PurePosixPath(raw.location).name)
        except PermanentDocumentError as exc:
            if listed is not None and not raw.document_id:
                listed = None  # a record without its id: the listing is no longer known
            failures.append(
                DocumentFailure(
                    raw.location, "parse", exc.error, str(exc), "permanent", raw.document_id or None
                )
            )
            continue
        except Exception as exc:
            if is_transient(exc):
                raise
            if listed is not None and not raw.document_id:
                listed = None
            failures.append(
                DocumentFailure(
                    raw.location,
                    "parse",
                    type(exc).__name__,
                    str(exc),
                    "permanent",
                    raw.document_id or None,
                )
            )
            continue
        document_id = result.document_id or raw.document_id
        if listed is not None:
            listed.add(document_id)
        metadata = {**raw.metadata, **result.metadata}
        if raw.inline is None and "text_uri" not in metadata:
            metadata["text_uri"], _ = store.put_bytes(result.text.encode(), suffix=".txt")
        if document_id in parsed and parsed[document_id].content_hash == raw.sha256:
            continue  # the same record twice: nothing to choose between
        if document_id in parsed:
            earlier = parsed.pop(document_id)
            failures.append(
                DocumentFailure(
                    earlier.location,
                    "parse",
                    "DuplicateDocument",
                    f"document id {document_id!r} appears again at {raw.location}; "
                    "the later one is indexed",
                    "permanent",
                    document_id,
                )
            )
        parsed[document_id] = ParsedDocument(
            document_id=document_id,
            location=raw.location,
            mime=raw.mime,
            content_hash=raw.sha256,
            artifact_uri=raw.artifact_uri,
            title=result.title,
            text=result.text,
            track=result.track,
            icd_codes=result.icd_codes,
            metadata=metadata,
            images=result.images,
        )
    return Batch(
        batch.tenant_id,
        batch.source,
        list(parsed.values()),
        failures,
        batch.seen,
        listed,
        batch.gone,
        batch.retried,
    )


def chunk_batch(batch: Batch, chunker: Chunker) -> Batch:
    """Parsed documents -> documents with their chunks."""
    items: list[ChunkedDocument] = []
    failures = list(batch.failures)
    parsed = [doc for doc in batch.items if isinstance(doc, ParsedDocument)]
    if len(parsed) != len(batch.items):
        raise TypeError("chunk_batch takes a batch of parsed documents")
    pieces = chunker.chunk_many([(doc.text, doc.title) for doc in parsed])
    for doc, own in zip(parsed, pieces, strict=True):
        text_chunks = [replace(c, track=doc.track) for c in own]
        chunks = [c for c in text_chunks if not c.heading]
        for image_text in doc.images:  # images inside the document: vision-track chunks
            for chunk in chunker.chunk(image_text, doc.title):
                if not chunk.heading:  # the document's own heading is the one kept
                    chunks.append(replace(chunk, chunk_no=len(chunks), track="vision"))
        # the heading numbered last: body chunks keep the numbers they had without one
        chunks += [replace(c, chunk_no=len(chunks)) for c in text_chunks if c.heading]
        if not chunks:
            failures.append(
                DocumentFailure(
                    doc.location,
                    "chunk",
                    "EmptyDocument",
                    "no text to chunk",
                    "permanent",
                    doc.document_id,
                )
            )
            continue
        items.append(ChunkedDocument(doc, chunks))
    return Batch(
        batch.tenant_id,
        batch.source,
        items,
        failures,
        batch.seen,
        batch.listed,
        batch.gone,
        batch.retried,
    )
