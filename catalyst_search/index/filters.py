"""Backend-neutral payload filters: what a search request may ask for, validated once."""

from __future__ import annotations

from dataclasses import dataclass, field

Scalar = str | int | bool


@dataclass(frozen=True)
class Match:
    """``key`` equals one of ``values`` (for list payloads: contains one of them)."""

    key: str
    values: tuple[Scalar, ...]


@dataclass(frozen=True)
class Range:
    """``key`` lies within the given bounds (chunk numbers, dates as numbers)."""

    key: str
    gte: float | None = None
    lt: float | None = None


Condition = Match | Range


@dataclass(frozen=True)
class FilterSpec:
    """All of ``must`` hold, at least one of ``should`` (when given), and none of ``must_not``."""

    must: tuple[Condition, ...] = field(default_factory=tuple)
    must_not: tuple[Condition, ...] = field(default_factory=tuple)
    should: tuple[Condition, ...] = field(default_factory=tuple)

    def and_(self, *conditions: Condition) -> FilterSpec:
        return FilterSpec(must=self.must + conditions, must_not=self.must_not, should=self.should)

    @property
    def empty(self) -> bool:
        return not (self.must or self.must_not or self.should)


def tenant_filter(tenant_id: str, extra: FilterSpec | None = None) -> FilterSpec:
    """Scope a filter to one tenant. Every query goes through here (decision 8)."""
    return (extra or FilterSpec()).and_(Match("tenant_id", (tenant_id,)))


def document_filter(tenant_id: str, document_id: str) -> FilterSpec:
    return FilterSpec(must=(Match("tenant_id", (tenant_id,)), Match("document_id", (document_id,))))
