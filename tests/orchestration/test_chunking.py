import re

from catalyst_orchestration.lib.chunking import Chunker, ChunkingConfig

TEXT = " ".join(
    f"Sentence {i} explains hyperglycemia, nephropathy and retinopathy." for i in range(120)
)


def test_short_text_is_one_chunk_with_title_context():
    chunks = Chunker().chunk("Graves disease is autoimmune.", "Thyroid")
    assert len(chunks) == 1
    assert chunks[0].text == "Graves disease is autoimmune."
    assert chunks[0].embed_text == "Thyroid\nGraves disease is autoimmune."


def test_long_text_is_split_within_the_token_budget_with_overlap():
    chunker = Chunker(ChunkingConfig(max_tokens=64, overlap=16))
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
    chunker = Chunker(ChunkingConfig(max_tokens=48, overlap=8))
    chunks = chunker.chunk(TEXT)
    assert TEXT.startswith(chunks[0].text)
    assert TEXT.endswith(chunks[-1].text)
