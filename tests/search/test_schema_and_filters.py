import pytest

from catalyst_search.index.filters import Match
from catalyst_search.index.schema import build_payload, point_id
from catalyst_search.retrieval.filters import InvalidFilter, parse_filters


def test_point_ids_are_deterministic_and_scoped():
    assert point_id("t1", "doc", 0) == point_id("t1", "doc", 0)
    assert point_id("t1", "doc", 0) != point_id("t2", "doc", 0)
    assert point_id("t1", "doc", 0) != point_id("t1", "doc", 1)


def test_metadata_cannot_overwrite_contract_fields():
    payload = build_payload(
        tenant_id="t",
        document_id="d",
        chunk_no=0,
        text="x",
        title="",
        source="s",
        artifact_uri="file:///a",
        content_hash="h",
        mime="text/plain",
        metadata={"tenant_id": "evil", "chapter": "4"},
    )
    assert payload["tenant_id"] == "t"
    assert payload["meta_tenant_id"] == "evil"
    assert payload["chapter"] == "4"
    assert payload["icd_codes"] == []


def test_parse_filters_accepts_scalars_and_lists():
    spec = parse_filters({"icd_codes": ["E11.9", "E11.65"], "chapter": "4"})
    assert Match("icd_codes", ("E11.9", "E11.65")) in spec.must
    assert Match("chapter", ("4",)) in spec.must


@pytest.mark.parametrize(
    "filters, message",
    [
        ({"tenant_id": "other"}, "cannot be filtered"),
        ({"icd_codes": []}, "at least one value"),
        ({"chapter": {"$gt": 3}}, "values must be"),
        ({"chapter": 4.5}, "values must be"),
        ({"bad key!": "x"}, "not a valid payload key"),
    ],
)
def test_parse_filters_rejects_what_the_index_cannot_run(filters, message):
    with pytest.raises(InvalidFilter, match=message):
        parse_filters(filters)
