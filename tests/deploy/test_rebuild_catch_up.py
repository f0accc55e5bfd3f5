"""Ingests go on while a rebuild runs, into the collection being served. What they write must
still be served after the swap: the rebuild reads again every source ingested since it read
it (a change, a deletion) and every source registered since it started."""

from __future__ import annotations

from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from catalyst_orchestration.lib.artifacts import LocalArtifactStore
from catalyst_orchestration.lib.chunking import Chunker, ChunkingConfig
from catalyst_orchestration.lib.indexing import index_batch
from catalyst_orchestration.lib.rebuild import rebuild
from catalyst_orchestration.lib.records import Batch
from catalyst_orchestration.lib.sources import Acquirer
from catalyst_orchestration.lib.stages import chunk_batch, parse_batch
from catalyst_orchestration.lib.state import StateStore
from catalyst_orchestration.lib.state_stores import index_meta
from catalyst_search.index.contract import HybridQuery
from catalyst_search.index.filters import FilterSpec, Match
from catalyst_search.index.server.reader import ServerReader
from catalyst_search.index.server.writer import ServerWriter
from catalyst_search.settings import Settings, load_settings
from tests.deploy.helpers import NEW, OLD

TRIAL = "Semaglutide lowered HbA1c by 1.8 points in the SUSTAIN trial of adults with obesity."


def test_what_is_ingested_while_a_rebuild_runs_is_served_after_its_swap(
    server_index, dense, sparse
):
    folder, instance, tmp_path = server_index
    trials = tmp_path / "trials"
    trials.mkdir()
    (trials / "sustain.md").write_text(f"# Sustain\n\n{TRIAL}")
    settings = load_settings()
    state = StateStore(settings.state_db)
    client = QdrantClient(path=str(tmp_path / "qdrant"))
    acquirer = Acquirer(LocalArtifactStore(settings.artifacts_dir), state, settings, lambda: None)
    meta = index_meta(state, settings, lambda: pytest.fail("the first ingest fixed the meta"))
    bm25 = type(sparse)(avg_len=meta.bm25_avg_len)
    events: list[tuple[str, str]] = []

    def ingest_served(source: Path) -> None:
        """What an ingest run does, into the collection being served (the alias)."""
        registered = state.register_source("default", str(source))
        acquired = acquirer.acquire(registered.uri, roots=settings.source_rules("default").roots)
        raw = Batch("default", registered.uri, acquired.documents, acquired.failures,
                    acquired.seen, acquired.listed, acquired.gone)  # fmt: skip
        chunking = ChunkingConfig(max_tokens=settings.chunk_tokens, overlap=settings.chunk_overlap)
        chunked = chunk_batch(parse_batch(raw, acquirer.store), Chunker(chunking))
        with state.index_lock():
            index_batch(
                chunked, writer=ServerWriter(client, settings.collection), dense=dense,
                sparse=bm25, state=state, collection=settings.collection, chunking=chunking,
            )  # fmt: skip

    def meanwhile(event: str, detail: str) -> None:
        events.append((event, detail))
        if event == "source":  # the rebuild has read the guidelines: they change, and a
            (folder / "policy.md").write_text(f"# Policy\n\n{NEW}")  # new source is ingested
            (folder / "thyroid.md").unlink()
            ingest_served(folder)
            ingest_served(trials)
            assert NEW in _top_text(client, settings, dense, bm25, "first-line drug")

    try:
        done = rebuild(client, settings, state=state, acquirer=acquirer, dense=dense,
                       sparse=bm25, progress=meanwhile, drop_after_s=0)  # fmt: skip
        served = ServerReader(client, settings.collection).version
        first_line = _top_text(client, settings, dense, bm25, "first-line drug for diabetes")
        trial = _top_text(client, settings, dense, bm25, "semaglutide trial HbA1c")
        thyroid = _texts(client, settings, dense, bm25, "levothyroxine hypothyroidism")
    finally:
        client.close()
    assert served == done.new == "catalyst_chunks__v2"
    assert NEW in first_line and OLD not in first_line  # the change, not what it read
    assert TRIAL in trial  # the source registered while it ran
    assert not any("Levothyroxine" in text for text in thyroid)  # the deletion
    caught_up = [e for e in events if e[0] == "caught up"]  # each once: then nothing changed
    assert sorted(caught_up) == [("caught up", str(folder)), ("caught up", str(trials))]
    assert done.caught_up == [detail for _, detail in caught_up]
    assert [uri for uri, _ in done.reads] == [str(folder), *done.caught_up]
    ids = ["guidelines/policy.md", "guidelines/thyroid.md", "trials/sustain.md"]
    assert set(state.manifest(settings.collection, "default", ids)) == {
        "guidelines/policy.md",
        "trials/sustain.md",
    }


def test_a_rebuild_with_nothing_ingested_meanwhile_reads_each_source_once(
    server_index, dense, sparse
):
    folder, instance, tmp_path = server_index
    settings = load_settings()
    state = StateStore(settings.state_db)
    client = QdrantClient(path=str(tmp_path / "qdrant"))
    acquirer = Acquirer(LocalArtifactStore(settings.artifacts_dir), state, settings, lambda: None)
    meta = index_meta(state, settings, lambda: pytest.fail("the first ingest fixed the meta"))
    events: list[tuple[str, str]] = []
    try:
        done = rebuild(
            client, settings, state=state, acquirer=acquirer, dense=dense,
            sparse=type(sparse)(avg_len=meta.bm25_avg_len), drop_after_s=0,
            progress=lambda event, detail: events.append((event, detail)),
        )  # fmt: skip
    finally:
        client.close()
    assert done.caught_up == [] and [e for e, _ in events].count("source") == 1
    assert "caught up" not in {e for e, _ in events}


def _texts(client: QdrantClient, settings: Settings, dense, sparse, text: str) -> list[str]:
    reader = ServerReader(client, settings.collection, refresh_s=0)
    query = HybridQuery(
        dense.encode([text])[0].tolist(),
        sparse.encode_query(text),
        FilterSpec(must=(Match("tenant_id", ("default",)),)),
        limit=5,
    )
    return [str(hit.payload["text"]) for hit in reader.query(query)]


def _top_text(client: QdrantClient, settings: Settings, dense, sparse, text: str) -> str:
    return _texts(client, settings, dense, sparse, text)[0]
