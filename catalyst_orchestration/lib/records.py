"""The records that flow between the ingestion assets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

FailureClass = Literal["transient", "permanent"]


@dataclass(frozen=True)
class DocumentFailure:
    """One document that could not be processed, and where it came from."""

    location: str  # file path, with ":<line>" for a JSONL record
    stage: str  # acquire | parse | chunk | index
    error: str  # a short class name: UnsupportedMediaType, CorruptDocument, MalformedRecord...
    message: str
    failure_class: FailureClass = "permanent"
    document_id: str | None = None
    attempts: int = 1  # the attempt of its step that recorded the failure (1 + retries before)

    def as_dict(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "stage": self.stage,
            "error": self.error,
            "class": self.failure_class,
            "message": self.message,
            "document_id": self.document_id,
            "attempts": self.attempts,
        }


@dataclass
class RawDocument:
    """Bytes of one document, persisted to the artifact store."""

    document_id: str
    location: str
    mime: str
    sha256: str
    artifact_uri: str
    size: int
    metadata: dict[str, Any] = field(default_factory=dict)
    inline: bytes | None = None  # JSONL records travel inline; files are read back by URI


@dataclass
class ParsedDocument:
    document_id: str
    location: str
    mime: str
    content_hash: str
    artifact_uri: str
    title: str
    text: str
    track: str = "text"
    icd_codes: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    images: list[str] = field(default_factory=list)  # text read from embedded images


@dataclass
class Chunk:
    chunk_no: int
    text: str  # what the reader sees
    embed_text: str  # text with title context, what the encoders see
    track: str = "text"  # text, or vision for text read from an image
    heading: bool = False  # the document's heading alone (dense only), shown as its chunk 0


@dataclass
class ChunkedDocument:
    document: ParsedDocument
    chunks: list[Chunk]


@dataclass
class Batch:
    """One partition's documents at some stage, with the failures so far.

    ``listed``: ids of every document the source holds, when known (see ``Acquired``);
    ``gone``: documents the source says were removed. The index step deletes from both.
    """

    tenant_id: str
    source: str
    items: list[Any]
    failures: list[DocumentFailure] = field(default_factory=list)
    seen: int = 0
    listed: set[str] | None = None
    gone: set[str] = field(default_factory=set)
    retried: list[dict[str, Any]] = field(default_factory=list)  # fetched after retries
