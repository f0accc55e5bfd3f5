"""Collection schema shared by every writer and reader of the index."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Final

DENSE_VECTOR = "dense"
SPARSE_VECTOR = "sparse"
DENSE_SIZE = 384
#: The dense encoder whose vectors the index holds, recorded with it (model, precision).
DENSE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DENSE_PRECISION: Final = "fp32"  # the default; CATALYST_ENCODER_PRECISION=int8 the other

#: Bump when the payload layout or point id scheme changes: every document is re-embedded.
SCHEMA_VERSION = 2

#: Payload fields every point carries. Document metadata is stored beside them; a metadata key
#: that collides with one of these is stored as ``meta_<key>``.
RESERVED_FIELDS = (
    "tenant_id",
    "document_id",
    "chunk_no",
    "text",
    "title",
    "source",
    "artifact_uri",
    "content_hash",
    "mime",
    "track",
    "icd_codes",
    "icd_hierarchy",
    "chunk_kind",
)

#: Payload fields with a keyword index (filters on them stay fast as the index grows).
KEYWORD_INDEXES = (
    "tenant_id",
    "document_id",
    "source",
    "icd_codes",
    "icd_hierarchy",
    "chapter",
    "track",
)

_POINT_NAMESPACE = uuid.UUID("5b0cbd3e-8f7a-4f3e-9a55-2f1d1f6f5a10")


def normalize_icd(code: str) -> str:
    """``e11.9`` -> ``E11.9``; the tabular list's ``E11.-`` and ``E11.`` mean the category."""
    return code.strip().upper().removesuffix("-").removesuffix(".")


def icd_hierarchy(code: str) -> list[str]:
    """Every level of an ICD-10 code: ``E11.65`` -> ``E11``, ``E11.6``, ``E11.65``."""
    head, _, tail = normalize_icd(code).partition(".")
    return [head] + [f"{head}.{tail[:n]}" for n in range(1, len(tail) + 1)]


def point_id(tenant_id: str, document_id: str, chunk_no: int) -> str:
    """Deterministic point id: re-ingesting a chunk overwrites it instead of duplicating it."""
    return str(uuid.uuid5(_POINT_NAMESPACE, f"{tenant_id}\x1f{document_id}\x1f{chunk_no}"))


#: ``chunk_kind`` of a heading point (body chunks carry no ``chunk_kind``)
HEADING = "heading"
_VERSION_BITS = 0xF << 76  # the UUID's version nibble


def heading_point_id(tenant_id: str, document_id: str) -> str:
    """The id of a document's heading point: its first chunk's id with UUID version 8 instead of
    5, so fusion maps a heading to the chunk it stands for without reading payloads."""
    body = uuid.UUID(point_id(tenant_id, document_id, 0))
    return str(uuid.UUID(int=(body.int & ~_VERSION_BITS) | (8 << 76)))


def body_point_of(pid: str) -> str:
    """The chunk a point stands for: a heading point's first chunk, else the point itself."""
    if len(pid) != 36 or pid[14] != "8":
        return pid
    return f"{pid[:14]}5{pid[15:]}"  # the version nibble is the 15th character of the text


def body_point_of_int(pid: int) -> int:
    """``body_point_of`` for an id as its UUID's integer (the embedded backend's, in fusion)."""
    return pid ^ ((8 ^ 5) << 76) if pid & _VERSION_BITS == 8 << 76 else pid


def uuid_text(pid: int) -> str:
    """The UUID ``pid`` as text: what ``str(uuid.UUID(int=pid))`` gives, in a third of its time."""
    h = f"{pid:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True)
class SparseVec:
    """A sparse vector as parallel index and weight lists."""

    indices: list[int]
    values: list[float]


@dataclass
class ChunkPoint:
    """One chunk ready for the index: id, both vectors and the payload."""

    id: str
    dense: list[float]
    sparse: SparseVec
    payload: dict[str, Any] = field(default_factory=dict)


def build_payload(
    *,
    tenant_id: str,
    document_id: str,
    chunk_no: int,
    text: str,
    title: str,
    source: str,
    artifact_uri: str,
    content_hash: str,
    mime: str,
    track: str = "text",
    icd_codes: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The payload of one chunk, document metadata merged in without clobbering our fields."""
    payload: dict[str, Any] = {}
    for key, value in (metadata or {}).items():
        payload[f"meta_{key}" if key in RESERVED_FIELDS else key] = value
    payload.update(
        tenant_id=tenant_id,
        document_id=document_id,
        chunk_no=chunk_no,
        text=text,
        title=title,
        source=source,
        artifact_uri=artifact_uri,
        content_hash=content_hash,
        mime=mime,
        track=track,
        icd_codes=list(icd_codes or []),
        icd_hierarchy=sorted({level for code in icd_codes or [] for level in icd_hierarchy(code)}),
    )
    return payload


@dataclass(frozen=True)
class Hit:
    """A scored point as a backend returns it."""

    id: str
    score: float
    payload: dict[str, Any]
    ranks: tuple[int | None, ...] = ()  # rank in the dense and sparse legs (None: absent)
    leg_scores: tuple[float | None, ...] = ()
