"""The embedded backend fuses its candidates with ids as their UUIDs' integers: the same hits
in the same order, with the same scores, as fusing the ids' text (how the server backend's
arrive), headings mapped to their chunks alike."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from catalyst_search.index.fusion import TEXT_IDS, UUID_INTS, Candidate, fuse
from catalyst_search.index.schema import (
    body_point_of,
    body_point_of_int,
    heading_point_id,
    point_id,
    uuid_text,
)

uuids = st.uuids()


@given(uuids)
def test_uuid_text_is_the_uuids_own(value: uuid.UUID) -> None:
    assert uuid_text(value.int) == str(value)


@given(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=20))
def test_a_heading_maps_to_its_first_chunk_as_integer_and_as_text(tenant, document) -> None:
    heading = uuid.UUID(heading_point_id(tenant, document))
    chunk = uuid.UUID(point_id(tenant, document, 0))
    assert body_point_of(str(heading)) == str(chunk)
    assert body_point_of_int(heading.int) == chunk.int
    assert body_point_of_int(chunk.int) == chunk.int  # a chunk stands for itself


SCORES = st.sampled_from([0.1, 0.25, 0.5, 0.5, 0.75, 1.0, 2.5])  # equal scores: ties


def heading_of(chunk: uuid.UUID) -> uuid.UUID:
    """The heading point of the document whose first chunk is ``chunk`` (version 8)."""
    return uuid.UUID(int=(chunk.int & ~(0xF << 76)) | (8 << 76))


@st.composite
def legs(draw: st.DrawFn) -> list[list[tuple[uuid.UUID, float, float | None]]]:
    """One or two legs over one pool of documents' first chunks (version 5, as point_id
    makes them), so both legs often hold the same chunk: each row a chunk, its score, and
    maybe its document's heading point's score."""
    pool = draw(st.lists(st.uuids(version=5), max_size=25, unique=True))
    return [
        [(chunk, draw(SCORES), draw(st.none() | SCORES)) for chunk in pool if draw(st.booleans())]
        for _ in range(draw(st.integers(1, 2)))
    ]


def points(rows: list[tuple[uuid.UUID, float, float | None]]) -> list[tuple[uuid.UUID, float]]:
    found = [(chunk, score) for chunk, score, _ in rows]
    return found + [(heading_of(c), h) for c, _, h in rows if h is not None]


@given(legs(), st.sampled_from(["rrf", "dbsf"]))
def test_fusing_integer_ids_gives_what_fusing_their_text_gives(drawn, method) -> None:
    """Equal scores included (ties break by id: the integers order as their text does), a
    chunk in both legs fused once with both ranks, and a heading beside its chunk counted
    once, with the better score."""
    scored = [points(rows) for rows in drawn]
    args = {"limit": 10, "prefetch_limit": 20, "method": method}
    by_text = fuse(
        [[Candidate(str(u), s) for u, s in rows] for rows in scored],
        body_of=TEXT_IDS.body_of,
        **args,
    )
    by_int = fuse(
        [[Candidate(u.int, s) for u, s in rows] for rows in scored],
        body_of=UUID_INTS.body_of,
        **args,
    )
    assert [(UUID_INTS.text_of(f.id), f.score, f.ranks, f.leg_scores) for f in by_int] == [
        (f.id, f.score, f.ranks, f.leg_scores) for f in by_text
    ]
    assert all(body_point_of(f.id) == f.id for f in by_text)  # headings became their chunks
