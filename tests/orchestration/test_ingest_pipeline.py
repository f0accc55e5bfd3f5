"""The ingestion assets end to end on the embedded default: idempotence, changes, failures."""

from __future__ import annotations

import dagster as dg
import pytest

from catalyst_orchestration.lib.state import StateStore
from catalyst_search.embed.dense import DenseEncoder
from catalyst_search.index.embedded.reader import EmbeddedReader
from catalyst_search.index.filters import FilterSpec, Match, document_filter
from catalyst_search.settings import load_settings
from tests.conftest import icd_records
from tests.orchestration.helpers import LONG_TEXT, check_results, ingest, make_corpus

RECORDS = icd_records(limit=40)
GOOD_FILES = 5  # overview.md thyroid.txt page.html handout.pdf note.json


@pytest.fixture
def instance(catalyst_home):
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture
def corpus(tmp_path):
    return make_corpus(tmp_path / "corpus", RECORDS)


@pytest.fixture
def encode_calls(monkeypatch):
    calls = []
    original = DenseEncoder.encode

    def counting(self, texts):
        calls.append(len(texts))
        return original(self, texts)

    monkeypatch.setattr(DenseEncoder, "encode", counting)
    return calls


def _points(flt=None):
    reader = EmbeddedReader(load_settings().index_dir, refresh_s=0)
    try:
        return reader.count(flt or FilterSpec())
    finally:
        reader.close()


def test_first_ingest_indexes_all_good_documents_and_locates_the_bad(corpus, instance):
    result, meta = ingest(corpus, instance)
    assert result.success
    good = GOOD_FILES + len(RECORDS)
    assert meta["documents_seen"] == good + 3
    assert meta["documents_new"] == good
    assert meta["documents_failed"] == 3
    locations = {f["location"]: f for f in meta["failures"]}
    assert locations[f"{corpus}/records.jsonl:5"]["error"] == "MalformedRecord"
    assert locations[str(corpus / "broken.pdf")]["error"] == "CorruptDocument"
    assert locations[str(corpus / "blob.bin")]["error"] == "UnsupportedMediaType"
    assert all(f["class"] == "permanent" for f in meta["failures"])
    assert meta["chunks_written"] > good  # the long markdown file has several chunks
    assert _points() == meta["chunks_written"]
    assert check_results(result) == {
        "no_empty_chunk_text": True,
        "points_match_chunks": True,
        "dense_vector_dimensions": True,
    }


def test_reingesting_unchanged_documents_embeds_nothing(corpus, instance, encode_calls):
    _, first = ingest(corpus, instance)
    assert sum(encode_calls) == first["chunks_written"]
    encode_calls.clear()
    result, second = ingest(corpus, instance)
    assert result.success
    assert encode_calls == []
    assert second["documents_unchanged"] == GOOD_FILES + len(RECORDS)
    assert second["documents_new"] == second["documents_changed"] == 0
    assert second["chunks_written"] == 0
    assert second["index_version"] == first["index_version"]
    assert _points() == first["chunks_written"]


def test_changing_one_document_reembeds_only_it_and_drops_its_stale_chunks(
    corpus, instance, encode_calls
):
    _, first = ingest(corpus, instance)
    long_doc = document_filter("default", "corpus/overview.md")
    before = _points(long_doc)
    assert before >= 4
    (corpus / "overview.md").write_text("# Gestational diabetes\n\n" + LONG_TEXT[:600])
    encode_calls.clear()
    result, second = ingest(corpus, instance)
    assert result.success
    after = _points(long_doc)
    assert second["documents_changed"] == 1
    assert second["documents_unchanged"] == GOOD_FILES + len(RECORDS) - 1
    assert sum(encode_calls) == second["chunks_written"] == after
    assert second["chunks_deleted"] == before - after > 0
    assert _points() == first["chunks_written"] - (before - after)
    assert check_results(result)["points_match_chunks"]


def test_a_document_that_loses_its_heading_loses_its_heading_point(corpus, instance):
    ingest(corpus, instance)
    doc = document_filter("default", "corpus/thyroid.txt")
    headings = doc.and_(Match("chunk_kind", ("heading",)))
    assert _points(headings) == 1 and _points(doc) == 2
    (corpus / "thyroid.txt").write_text("thyroid")  # its heading (the title) is all of it
    result, second = ingest(corpus, instance)
    assert result.success
    assert _points(headings) == 0
    assert _points(doc) == 1
    assert second["chunks_deleted"] == 1
    assert check_results(result)["points_match_chunks"]


def test_rerunning_after_a_lost_manifest_never_duplicates_points(corpus, instance):
    _, first = ingest(corpus, instance)
    settings = load_settings()
    StateStore(settings.state_db).forget_collection(settings.collection)
    result, second = ingest(corpus, instance)
    assert result.success
    assert second["documents_new"] == GOOD_FILES + len(RECORDS)  # all embedded again...
    assert _points() == first["chunks_written"]  # ...into the same point ids


def test_tenants_are_indexed_apart(corpus, instance):
    ingest(corpus, instance, tenant="acme")
    _, meta = ingest(corpus, instance, tenant="globex")
    assert meta["documents_new"] == GOOD_FILES + len(RECORDS)
    total = _points()
    assert _points(document_filter("acme", "corpus/thyroid.txt")) == 2  # its chunk and its heading
    assert _points(document_filter("globex", "corpus/thyroid.txt")) == 2
    assert total == 2 * meta["chunks_written"]
