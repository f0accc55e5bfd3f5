"""Parser registry keyed by MIME type: raw bytes in, title + text + metadata out."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from catalyst_orchestration.lib.failures import (
    CorruptDocument,
    EmptyDocument,
    MalformedRecord,
    UnsupportedMediaType,
)
from catalyst_orchestration.lib.ocr import ocr_image
from catalyst_orchestration.lib.sources.local import RECORD_MIME


@dataclass
class Parsed:
    text: str
    title: str = ""
    document_id: str | None = None  # records carry their own id
    icd_codes: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    track: str = "text"
    images: list[str] = field(default_factory=list)  # text of embedded images: vision track


Parser = Callable[[bytes, str], Parsed]
_REGISTRY: dict[str, Parser] = {}


def register(*mimes: str) -> Callable[[Parser], Parser]:
    def wrap(fn: Parser) -> Parser:
        for mime in mimes:
            _REGISTRY[mime] = fn
        return fn

    return wrap


def supported_mimes() -> list[str]:
    return sorted(_REGISTRY)


def parse(data: bytes, mime: str, name: str) -> Parsed:
    """Parse ``data``; raises a ``PermanentDocumentError`` subclass when it cannot."""
    parser = _REGISTRY.get(mime)
    if parser is None:
        raise UnsupportedMediaType(
            f"no parser for {mime} (supported: {', '.join(supported_mimes())})"
        )
    parsed = parser(data, name)
    if not parsed.text.strip() and not parsed.images:
        raise EmptyDocument("document has no text")
    return parsed


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _stem(name: str) -> str:
    return PurePosixPath(name).stem.replace("_", " ").replace("-", " ")


@register("text/plain")
def parse_text(data: bytes, name: str) -> Parsed:
    return Parsed(text=_decode(data).strip(), title=_stem(name))


_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


@register("text/markdown")
def parse_markdown(data: bytes, name: str) -> Parsed:
    text = _decode(data).strip()
    heading = _HEADING.search(text)
    return Parsed(text=text, title=heading.group(1) if heading else _stem(name))


@register("text/html", "application/xhtml+xml")
def parse_html(data: bytes, name: str) -> Parsed:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else ""
    if not title and soup.h1:
        title = soup.h1.get_text(strip=True)
    images = []
    for figure in soup.find_all("figure"):
        caption = figure.find("figcaption")
        alts = [img.get("alt", "") for img in figure.find_all("img")]
        parts = [str(a).strip() for a in alts] + (
            [caption.get_text(" ", strip=True)] if caption else []
        )
        images.append(" ".join(p for p in parts if p))
        figure.decompose()
    images += [str(img.get("alt", "")).strip() for img in soup.find_all("img")]
    body = soup.body or soup
    text = re.sub(r"\n{3,}", "\n\n", body.get_text("\n", strip=True))
    return Parsed(text=text, title=title or _stem(name), images=[i for i in images if i])


@register("application/pdf")
def parse_pdf(data: bytes, name: str) -> Parsed:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or ""
        embedded = [image.data for page in reader.pages for image in page.images]
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CorruptDocument(f"unreadable PDF: {exc}") from exc
    images = [text for text in (ocr_image(blob) for blob in embedded) if text]
    return Parsed(
        text="\n\n".join(p.strip() for p in pages if p.strip()),
        title=str(title) or _stem(name),
        metadata={"pages": len(pages), "images": len(embedded)},
        images=images,
    )


@register("image/png", "image/jpeg", "image/gif", "image/tiff", "image/webp", "image/bmp")
def parse_image(data: bytes, name: str) -> Parsed:
    """An image file belongs to the vision track: its text is what OCR reads in it."""
    return Parsed(text=ocr_image(data), title=_stem(name), track="vision")


def _icd_codes(record: dict[str, Any]) -> list[str]:
    codes = record.pop("icd_codes", None)
    code = record.get("icd_code")
    found = [str(c) for c in codes] if isinstance(codes, list) else []
    if isinstance(code, str) and code and code not in found:
        found.insert(0, code)
    return found


def _from_object(record: Any, *, needs_id: bool) -> Parsed:
    if not isinstance(record, dict):
        raise MalformedRecord(f"expected a JSON object, got {type(record).__name__}")
    record = dict(record)
    text = record.pop("text", None)
    if not isinstance(text, str):
        raise MalformedRecord("record has no string field 'text'")
    doc_id = record.pop("id", None)
    if needs_id and (doc_id is None or str(doc_id) == ""):
        raise MalformedRecord("record has no 'id'")
    icd_codes = _icd_codes(record)
    title = record.pop("title", "")
    metadata = {k: v for k, v in record.items() if isinstance(k, str)}
    return Parsed(
        text=text,
        title=str(title or ""),
        document_id=None if doc_id is None else str(doc_id),
        icd_codes=icd_codes,
        metadata=metadata,
    )


@register(RECORD_MIME)
def parse_record(data: bytes, name: str) -> Parsed:
    try:
        record = json.loads(data)
    except json.JSONDecodeError as exc:
        raise MalformedRecord(f"invalid JSON: {exc.msg} at column {exc.colno}") from exc
    return _from_object(record, needs_id=True)


@register("application/json")
def parse_json(data: bytes, name: str) -> Parsed:
    """A JSON file is one document: ``text`` plus metadata, or the whole value as text."""
    try:
        value = json.loads(data)
    except json.JSONDecodeError as exc:
        raise CorruptDocument(f"invalid JSON: {exc.msg} at line {exc.lineno}") from exc
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        parsed = _from_object(value, needs_id=False)
        parsed.document_id = None  # the file path names a file's document
        parsed.title = parsed.title or _stem(name)
        return parsed
    return Parsed(text=json.dumps(value, indent=1, ensure_ascii=False), title=_stem(name))
