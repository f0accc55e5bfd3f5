from __future__ import annotations

import gzip

import pytest

from catalyst_orchestration.lib.artifacts import LocalArtifactStore
from catalyst_orchestration.lib.failures import (
    CorruptDocument,
    EmptyDocument,
    MalformedRecord,
    UnsupportedMediaType,
)
from catalyst_orchestration.lib.parsers import parse
from catalyst_orchestration.lib.sources import RECORD_MIME, acquire
from tests.helpers.pdf import make_pdf


def test_markdown_title_is_the_first_heading():
    parsed = parse(b"intro\n\n## Insulin dosing\n\ntext", "text/markdown", "doc.md")
    assert parsed.title == "Insulin dosing"


def test_html_drops_scripts_and_keeps_the_title():
    html = b"<html><head><title>T</title><script>var x=1;</script></head><body><p>Hello</p></body>"
    parsed = parse(html, "text/html", "x.html")
    assert parsed.title == "T"
    assert parsed.text == "Hello"


def test_pdf_text_and_title():
    parsed = parse(
        make_pdf(["Graves disease", "treated"], title="Thyroid"), "application/pdf", "a.pdf"
    )
    assert parsed.title == "Thyroid"
    assert "Graves disease" in parsed.text
    assert parsed.metadata["pages"] == 1


def test_record_fields_become_metadata_and_icd_codes():
    line = b'{"id": "E11.9", "text": "Type 2", "icd_code": "E11.9", "chapter": "4"}'
    parsed = parse(line, RECORD_MIME, "c.jsonl")
    assert parsed.document_id == "E11.9"
    assert parsed.icd_codes == ["E11.9"]
    assert parsed.metadata == {"icd_code": "E11.9", "chapter": "4"}


@pytest.mark.parametrize(
    "data, mime, error",
    [
        (b"%PDF-1.4 this is not really a pdf", "application/pdf", CorruptDocument),
        (b'{"id": "x", "text": ', RECORD_MIME, MalformedRecord),
        (b'{"text": "no id"}', RECORD_MIME, MalformedRecord),
        (b'["not", "an", "object"]', RECORD_MIME, MalformedRecord),
        (b"\x00\x01", "application/zip", UnsupportedMediaType),
        (b"   \n ", "text/plain", EmptyDocument),
    ],
)
def test_bad_documents_raise_permanent_errors(data, mime, error):
    with pytest.raises(error):
        parse(data, mime, "bad")


def test_acquire_folder_stores_files_once_and_skips_hidden(tmp_path):
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "a.txt").write_text("alpha")
    (docs / "sub" / "b.md").write_text("# B\nbeta")
    (docs / ".hidden").write_text("secret")
    (docs / "copy.txt").write_text("alpha")
    store = LocalArtifactStore(tmp_path / "artifacts")
    acquired = acquire(docs, store, roots=[tmp_path])
    # ids are paths under the tenant's root: two folders' a.txt are two documents
    ids = ["docs/a.txt", "docs/copy.txt", "docs/sub/b.md"]
    assert sorted(d.document_id for d in acquired.documents) == ids
    assert acquired.seen == 3
    by_id = {d.document_id: d for d in acquired.documents}
    assert by_id["docs/a.txt"].artifact_uri == by_id["docs/copy.txt"].artifact_uri  # by content
    assert store.read(by_id["docs/sub/b.md"].artifact_uri) == b"# B\nbeta"


def test_acquire_gzipped_jsonl_gives_one_document_per_line(tmp_path):
    path = tmp_path / "records.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        handle.write('{"id": "1", "text": "a"}\n\n{"id": "2", "text": "b"}\n')
    acquired = acquire(path, LocalArtifactStore(tmp_path / "artifacts"), roots=[tmp_path])
    assert acquired.seen == 2
    assert [d.location for d in acquired.documents] == [f"{path}:1", f"{path}:3"]
    assert acquired.documents[1].artifact_uri.endswith("#line=3")
