"""Ingests go on while a rebuild runs, into the collection being served. What they write must
still be served after the swap: the rebuild reads again every source the served manifest has
had a write to since it read it (a change, a deletion, a change and its revert) and every
source registered since it started; last with ingests' writes held back until the swap."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from qdrant_client import QdrantClient

from catalyst_orchestration.lib.artifacts import LocalArtifactStore
from catalyst_orchestration.lib.chunking import Chunker, ChunkingConfig
from catalyst_orchestration.lib.indexing import index_batch
from catalyst_orchestration.lib.rebuild import CATCH_UP_ROUNDS, Rebuilt, rebuild
from catalyst_orchestration.lib.sources import Acquired, Acquirer
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


@dataclass
class Index:
    """The served index of ``server_index``, opened as an ingest and a rebuild see it."""

    folder: Path
    tmp_path: Path
    settings: Settings
    state: StateStore
    client: QdrantClient
    acquirer: Acquirer
    dense: Any
    sparse: Any

    def ingest_served(self, source: Path) -> None:
        """What an ingest run does, into the collection being served (the alias)."""
        settings, state = self.settings, self.state
        registered = state.register_source("default", str(source))
        acquired = self.acquirer.acquire(
            registered.uri, roots=settings.source_rules("default").roots
        )
        raw = acquired.batch("default", registered.uri)
        chunking = ChunkingConfig(max_tokens=settings.chunk_tokens, overlap=settings.chunk_overlap)
        chunked = chunk_batch(parse_batch(raw, self.acquirer.store), Chunker(chunking))
        with state.index_lock():
            index_batch(
                chunked, writer=ServerWriter(self.client, settings.collection), dense=self.dense,
                sparse=self.sparse, state=state, collection=settings.collection, chunking=chunking,
            )  # fmt: skip

    def rebuild(self, meanwhile: Any, acquirer: Any = None) -> Rebuilt:
        return rebuild(
            self.client, self.settings, state=self.state, acquirer=acquirer or self.acquirer,
            dense=self.dense, sparse=self.sparse, progress=meanwhile, drop_after_s=0,
        )  # fmt: skip

    def texts(self, text: str) -> list[str]:
        reader = ServerReader(self.client, self.settings.collection, refresh_s=0)
        query = HybridQuery(
            self.dense.encode([text])[0].tolist(),
            self.sparse.encode_query(text),
            FilterSpec(must=(Match("tenant_id", ("default",)),)),
            limit=5,
        )
        return [str(hit.payload["text"]) for hit in reader.query(query)]


@pytest.fixture
def index(server_index, dense, sparse):
    folder, instance, tmp_path = server_index
    settings = load_settings()
    state = StateStore(settings.state_db)
    client = QdrantClient(path=str(tmp_path / "qdrant"))
    acquirer = Acquirer(LocalArtifactStore(settings.artifacts_dir), state, settings, lambda: None)
    meta = index_meta(state, settings, lambda: pytest.fail("the first ingest fixed the meta"))
    bm25 = type(sparse)(avg_len=meta.bm25_avg_len)
    yield Index(folder, tmp_path, settings, state, client, acquirer, dense, bm25)
    client.close()


def test_what_is_ingested_while_a_rebuild_runs_is_served_after_its_swap(index):
    folder, trials = index.folder, index.tmp_path / "trials"
    trials.mkdir()
    (trials / "sustain.md").write_text(f"# Sustain\n\n{TRIAL}")
    events: list[tuple[str, str]] = []

    def meanwhile(event: str, detail: str) -> None:
        events.append((event, detail))
        if event == "source":  # the rebuild has read the guidelines: they change, and a
            (folder / "policy.md").write_text(f"# Policy\n\n{NEW}")  # new source is ingested
            (folder / "thyroid.md").unlink()
            index.ingest_served(folder)
            index.ingest_served(trials)
            assert NEW in index.texts("first-line drug")[0]

    done = index.rebuild(meanwhile)
    assert ServerReader(index.client, index.settings.collection).version == done.new
    first_line = index.texts("first-line drug for diabetes")[0]
    assert NEW in first_line and OLD not in first_line  # the change, not what it read
    assert TRIAL in index.texts("semaglutide trial HbA1c")[0]  # the source registered meanwhile
    assert not any("Levothyroxine" in t for t in index.texts("levothyroxine hypothyroidism"))
    assert sorted(e for e in events if e[0] == "caught up") == [
        ("caught up", str(folder)),
        ("caught up", str(trials)),
    ]  # each once: nothing changed after
    assert [s.uri for s, _ in done.reads] == [str(folder), *(s.uri for s in done.caught_up)]
    ids = ["guidelines/policy.md", "guidelines/thyroid.md", "trials/sustain.md"]
    manifest = index.state.manifest(index.settings.collection, "default", ids)
    assert set(manifest) == {"guidelines/policy.md", "trials/sustain.md"}


class EditedBeforeRead:
    """The rebuild's acquirer: the guideline is edited on disk (not yet ingested) just before
    the rebuild reads it, after it noted what the served manifest held."""

    def __init__(self, inner: Acquirer, folder: Path) -> None:
        self._inner, self._folder, self.store = inner, folder, inner.store
        self._edited = False

    def acquire(self, uri: str, *, roots: Any) -> Acquired:
        if not self._edited and uri == str(self._folder):
            (self._folder / "policy.md").write_text(f"# Policy\n\n{NEW}")
            self._edited = True
        return self._inner.acquire(uri, roots=roots)


def test_a_change_and_its_revert_ingested_while_it_runs_are_not_lost(index):
    """The served manifest ends where it was when the rebuild read the source, but the
    rebuild read the edit: the revert was written after, and it is what stays served."""
    folder = index.folder

    def meanwhile(event: str, detail: str) -> None:
        if event == "source":
            index.ingest_served(folder)  # the edit the rebuild read
            (folder / "policy.md").write_text(f"# Policy\n\n{OLD}")
            index.ingest_served(folder)  # and its revert

    done = index.rebuild(meanwhile, EditedBeforeRead(index.acquirer, folder))
    first_line = index.texts("first-line drug for diabetes")[0]
    assert OLD in first_line and NEW not in first_line
    assert [s.uri for s in done.caught_up] == [str(folder)]


def test_a_source_ingested_in_every_round_is_read_last_with_ingests_held_back(index):
    folder, versions = index.folder, [0]

    def meanwhile(event: str, detail: str) -> None:
        # after the first read and after each read again while ingests go on; the read with
        # them held back cannot ingest (it would wait for itself)
        if event == "source" or (event == "caught up" and versions[0] <= CATCH_UP_ROUNDS):
            versions[0] += 1
            (folder / "policy.md").write_text(f"# Policy\n\nRevision {versions[0]}. {NEW}")
            index.ingest_served(folder)

    done = index.rebuild(meanwhile)
    assert len(done.caught_up) == CATCH_UP_ROUNDS + 1  # the rounds, then the one held back
    assert f"Revision {versions[0]}." in index.texts("first-line drug for diabetes")[0]


def test_a_rebuild_with_nothing_ingested_meanwhile_reads_each_source_once(index):
    (index.tmp_path / "trials").mkdir()
    (index.tmp_path / "trials" / "sustain.md").write_text(f"# Sustain\n\n{TRIAL}")
    index.ingest_served(index.tmp_path / "trials")  # before the rebuild: two sources
    events: list[tuple[str, str]] = []
    done = index.rebuild(lambda event, detail: events.append((event, detail)))
    assert done.caught_up == [] and [e for e, _ in events].count("source") == 2
    assert "caught up" not in {e for e, _ in events}
