import re
from types import SimpleNamespace

from catalyst_orchestration.lib import chunking
from catalyst_orchestration.lib.chunking import Chunker, ChunkingConfig
from tests.conftest import icd_records

TEXT = " ".join(
    f"Sentence {i} explains hyperglycemia, nephropathy and retinopathy." for i in range(120)
)


def test_short_text_is_one_chunk_with_title_context_and_a_heading():
    chunks = Chunker().chunk("Graves disease is autoimmune.", "Thyroid")
    assert [c.heading for c in chunks] == [False, True]
    assert chunks[0].text == "Graves disease is autoimmune."
    assert chunks[0].embed_text == "Thyroid\nGraves disease is autoimmune."
    # the heading alone is what the encoder sees; the reader is shown the first chunk
    assert (chunks[1].chunk_no, chunks[1].embed_text, chunks[1].text) == (
        1,
        "Thyroid",
        chunks[0].text,
    )


def test_the_heading_is_the_first_line_without_a_title_and_absent_for_one_line():
    record = "E11.21 Type 2 diabetes mellitus with diabetic nephropathy\nParent: E11.2 ..."
    chunks = Chunker().chunk(record)
    assert chunks[-1].heading
    assert chunks[-1].embed_text == "E11.21 Type 2 diabetes mellitus with diabetic nephropathy"
    assert [c.heading for c in Chunker().chunk("One line only.")] == [False]
    off = Chunker(ChunkingConfig(heading_vector=False)).chunk(record)
    assert [c.heading for c in off] == [False]
    assert (
        off != chunks
        and ChunkingConfig().fingerprint != ChunkingConfig(heading_vector=False).fingerprint
    )  # switching it re-embeds documents


def test_long_text_is_split_within_the_token_budget_with_overlap():
    chunker = Chunker(ChunkingConfig(max_tokens=64, overlap=16, heading_vector=False))
    chunks = chunker.chunk(TEXT, "Diabetes")
    assert len(chunks) > 5
    assert [c.chunk_no for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunker.count_tokens(chunk.embed_text) <= 64
        assert chunk.text == chunk.text.strip()
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after.text[:20] in before.text  # windows overlap
    words = set(re.findall(r"\w+", TEXT))
    for chunk in chunks:
        inner = re.findall(r"\w+", chunk.text)
        assert inner[0] in words  # no chunk starts mid-word
        assert inner[-1] in words  # nor ends mid-word


def test_chunks_cover_the_whole_text():
    chunker = Chunker(ChunkingConfig(max_tokens=48, overlap=8, heading_vector=False))
    chunks = chunker.chunk(TEXT)
    assert TEXT.startswith(chunks[0].text)
    assert TEXT.endswith(chunks[-1].text)


def test_image_chunks_keep_their_numbers_and_the_heading_comes_last():
    from catalyst_orchestration.lib.records import Batch, ParsedDocument
    from catalyst_orchestration.lib.stages import chunk_batch

    doc = ParsedDocument(
        document_id="report.html",
        location="/r/report.html",
        mime="text/html",
        content_hash="h",
        artifact_uri="file:///r",
        title="Thyroid report",
        text="Levothyroxine for hypothyroidism.",
        images=["TSH 4.2 mIU/L", "Free T4 1.1 ng/dL"],
    )
    (chunked,) = chunk_batch(Batch("default", "/r", [doc]), Chunker()).items
    chunks = chunked.chunks
    assert [c.chunk_no for c in chunks] == [0, 1, 2, 3]
    assert [(c.track, c.heading) for c in chunks] == [
        ("text", False),
        ("vision", False),
        ("vision", False),
        ("text", True),  # one heading, the document's, numbered after every body chunk
    ]
    assert chunks[-1].embed_text == "Thyroid report"


def test_chunking_many_documents_at_once_chunks_each_as_alone(monkeypatch):
    monkeypatch.setattr(chunking, "TOKENIZE_SLICE", 3)  # several slices, the last one short
    chunker = Chunker(ChunkingConfig(max_tokens=48, overlap=8))
    documents = [(r["text"], "") for r in icd_records(5)]
    documents += [(TEXT, "Diabetes"), ("  ", "Empty"), (" padded text ", "Title")]
    alone = [chunker.chunk(text, title) for text, title in documents]
    many = list(chunker.chunk_many(documents))
    assert many == alone
    assert len(many[5]) > 5 and many[6] == []  # the long one was split; the blank one is empty
    monkeypatch.setattr(chunking, "TOKENIZE_SLICE_CHARS", 200)  # slices cut by size as well
    sliced: list[int] = []
    encode_batch = chunker.tokenizer.encode_batch
    monkeypatch.setattr(
        chunker,
        "tokenizer",
        SimpleNamespace(
            encode_batch=lambda texts, **kw: sliced.append(len(texts)) or encode_batch(texts, **kw),
            encode=chunker.tokenizer.encode,
        ),
    )
    assert list(chunker.chunk_many(documents)) == alone
    assert max(sliced) < 3 and sum(sliced) == len(documents)
