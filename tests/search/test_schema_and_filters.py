import pytest

from catalyst_search.index.filters import Match
from catalyst_search.index.schema import build_payload, icd_hierarchy, point_id
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
    assert payload["icd_hierarchy"] == []


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


def test_icd_hierarchy_levels():
    assert icd_hierarchy("E11.65") == ["E11", "E11.6", "E11.65"]
    assert icd_hierarchy("e11") == ["E11"]
    assert icd_hierarchy("E08.-") == ["E08"]
    payload = build_payload(
        tenant_id="t",
        document_id="d",
        chunk_no=0,
        text="x",
        title="",
        source="s",
        artifact_uri="a",
        content_hash="h",
        mime="m",
        icd_codes=["E11.65", "E10.9"],
    )
    assert payload["icd_hierarchy"] == ["E10", "E10.9", "E11", "E11.6", "E11.65"]


def test_clauses_and_icd_prefix_parse():
    spec = parse_filters(
        {"chapter": "4", "should": {"icd_prefix": ["e10", "E11.-"]}, "must_not": {"source": "x"}}
    )
    assert spec.must == (Match("chapter", ("4",)),)
    assert spec.should == (Match("icd_hierarchy", ("E10", "E11")),)
    assert spec.must_not == (Match("source", ("x",)),)
    with pytest.raises(InvalidFilter, match="filters.should"):
        parse_filters({"should": ["E10"]})
