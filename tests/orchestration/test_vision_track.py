"""Images are read by OCR into the vision track, searchable there and not on the text track."""

from __future__ import annotations

import io

import dagster as dg
from PIL import Image

from catalyst_search.embed.dense import DenseEncoder
from catalyst_search.embed.sparse import SparseEncoder
from catalyst_search.index.embedded.reader import EmbeddedReader
from catalyst_search.retrieval.hybrid import Retriever
from catalyst_search.settings import load_settings
from tests.helpers.images import text_image
from tests.orchestration.helpers import ingest

QUERY = "quarantine protocol for axolotl tanks"


def _search(track: str, query: str = QUERY) -> list[str]:
    reader = EmbeddedReader(load_settings().index_dir, refresh_s=0)
    try:
        retriever = Retriever(reader, DenseEncoder(), SparseEncoder())
        result = retriever.search(tenant_id="default", query=query, top_k=5, track=track)
        return [r.hit.payload["document_id"] for r in result.hits]
    finally:
        reader.close()


def test_image_text_is_found_on_the_vision_track_only(catalyst_home, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "poster.png").write_bytes(
        text_image(["Quarantine protocol", "for axolotl tanks", "change water weekly"])
    )
    (corpus / "notes.txt").write_text("Hypothyroidism is treated with levothyroxine.")
    scan = Image.open(io.BytesIO(text_image(["Lipohypertrophy at", "insulin injection sites"])))
    scan.save(corpus / "scanned-leaflet.pdf", format="PDF")  # a PDF holding only an image
    (corpus / "page.html").write_text(
        "<html><body><p>Clinic opening hours.</p>"
        '<figure><img src="x.png" alt="Axolotl tank diagram"><figcaption>Tank quarantine'
        "</figcaption></figure></body></html>"
    )
    with dg.instance_for_test() as instance:
        result, meta = ingest(corpus, instance)
    assert result.success, meta
    assert meta["documents_failed"] == 0
    vision = _search("vision")  # (ids are paths under the root: corpus/...)
    assert vision[0] == "corpus/poster.png"
    assert "corpus/page.html" in vision  # alt text and caption of its figure
    text = _search("text")
    assert "corpus/poster.png" not in text
    assert set(_search("hybrid")) >= {"corpus/poster.png", "corpus/notes.txt"}
    leaflet = _search("vision", "lipohypertrophy insulin injection sites")[0]
    assert leaflet == "corpus/scanned-leaflet.pdf"
