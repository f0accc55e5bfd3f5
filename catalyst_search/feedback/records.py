"""What is logged: a search and the results it returned, and feedback on one of them."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FeedbackKind = Literal["vote", "click"]
#: words of a query that per-term boosts are kept for (lowercase, letters and digits, 3+ long)
_WORD = re.compile(r"[a-z0-9][a-z0-9.\-]{2,}")
_STOP = frozenset(
    ["and", "the", "with", "for", "without", "from", "due", "other", "not", "unspecified"]
)
MAX_QUERY_CHARS = 200  # of a query kept in the logs and counters


def query_terms(query: str) -> list[str]:
    """The distinct words a per-(term, document) boost is keyed by, in order."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(query.lower()):
        if word not in _STOP:
            seen.setdefault(word.strip(".-"), None)
    return [w for w in seen if w]


def normalized(query: str) -> str:
    return " ".join(query.lower().split())[:MAX_QUERY_CHARS]


@dataclass(frozen=True)
class LoggedResult:
    chunk_id: str
    document_id: str
    rank: int  # 1 = first


@dataclass(frozen=True)
class SearchRecord:
    query_id: str
    tenant_id: str
    query: str
    filters: dict[str, Any]
    mode: str
    track: str
    results: list[LoggedResult]
    at: float

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SearchRecord:
        data = json.loads(text)
        data["results"] = [LoggedResult(**r) for r in data["results"]]
        return cls(**data)

    def find(self, *, chunk_id: str | None, document_id: str | None) -> LoggedResult | None:
        """The returned result the feedback is about (by chunk, else by document)."""
        for result in self.results:
            if chunk_id and result.chunk_id == chunk_id:
                return result
            if not chunk_id and document_id and result.document_id == document_id:
                return result
        return None


@dataclass(frozen=True)
class FeedbackEvent:
    event_id: str  # derived from (query id, target, kind): the same feedback, the same id
    query_id: str
    tenant_id: str
    query: str
    document_id: str
    chunk_id: str | None
    rank: int | None
    rating: int  # 1 helped, -1 did not
    kind: FeedbackKind
    comment: str
    at: float
    extra: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def make_id(query_id: str, target: str, kind: str) -> str:
        return hashlib.sha256(f"{query_id}\0{target}\0{kind}".encode()).hexdigest()[:32]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> FeedbackEvent:
        return cls(**json.loads(text))
