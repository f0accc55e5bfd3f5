"""A rebuild goes live through a Qdrant alias swap: searches run between every step of the
rebuild (qdrant-client's local mode serves one process, so they interleave with it on the same
client rather than race it from another host) never error, see the old collection until the
swap and the new one from the first search after it."""

from __future__ import annotations

import dagster as dg
import pytest
from qdrant_client import QdrantClient

from catalyst_orchestration.lib.artifacts import LocalArtifactStore
from catalyst_orchestration.lib.rebuild import RebuildRefused, rebuild
from catalyst_orchestration.lib.sources import Acquirer
from catalyst_orchestration.lib.state import StateStore
from catalyst_orchestration.lib.state_stores import index_meta
from catalyst_search.index.contract import HybridQuery
from catalyst_search.index.filters import FilterSpec, Match
from catalyst_search.index.server.reader import ServerReader
from catalyst_search.settings import get_settings, load_settings
from tests.deploy.helpers import NEW, OLD
from tests.orchestration.helpers import ingest


def test_searches_never_error_during_a_rebuild_and_switch_at_the_swap(server_index, dense, sparse):
    folder, instance, tmp_path = server_index
    (folder / "policy.md").write_text(f"# Policy\n\n{NEW}")  # what the rebuild will embed
    settings = load_settings()
    client = QdrantClient(path=str(tmp_path / "qdrant"))
    reader = ServerReader(client, settings.collection, refresh_s=0)
    query = HybridQuery(
        dense.encode(["first-line drug for type 2 diabetes"])[0].tolist(),
        sparse.encode_query("first-line drug for type 2 diabetes"),
        FilterSpec(must=(Match("tenant_id", ("default",)),)),
        limit=1,
    )
    seen: list[tuple[str, str | None, str]] = []

    def search_meanwhile(event: str, detail: str) -> None:
        for _ in range(5):  # a replica's searches between two steps of the rebuild
            (hit,) = reader.query(query)
            seen.append((event, reader.version, hit.payload["text"]))

    state = StateStore(settings.state_db)
    acquirer = Acquirer(LocalArtifactStore(settings.artifacts_dir), state, settings, lambda: None)
    meta = index_meta(state, settings, lambda: pytest.fail("the first ingest fixed the meta"))
    try:
        done = rebuild(
            client, settings, state=state, acquirer=acquirer, dense=dense,
            sparse=type(sparse)(avg_len=meta.bm25_avg_len), progress=search_meanwhile,
            drop_after_s=0,
        )  # fmt: skip
        after = reader.query(query)[0].payload["text"]
        collections = {c.name for c in client.get_collections().collections}
    finally:
        client.close()
    assert (done.old, done.new) == ("catalyst_chunks__v1", "catalyst_chunks__v2")
    before_swap = [s for s in seen if s[0] != "swapped"]
    assert before_swap and all(v == "catalyst_chunks__v1" and OLD in t for _, v, t in before_swap)
    after_swap = [s for s in seen if s[0] == "swapped"]
    assert after_swap and all(v == "catalyst_chunks__v2" and NEW in t for _, v, t in after_swap)
    assert NEW in after and collections == {"catalyst_chunks__v2"}  # the old one is dropped

    # the rebuild's manifest is the index's now: a normal sync embeds nothing again
    result, meta = ingest(folder, instance)
    assert result.success and meta["documents_unchanged"] == 2 and meta["chunks_written"] == 0
    assert meta["index_version"] == "catalyst_chunks__v2"


def test_a_rebuild_that_could_not_read_everything_does_not_go_live(
    server_index, dense, sparse, monkeypatch
):
    folder, instance, tmp_path = server_index
    monkeypatch.setenv("CATALYST_OUTBOUND_ALLOW", "127.0.0.1")
    monkeypatch.setenv("CATALYST_FETCH_ATTEMPTS", "1")
    get_settings.cache_clear()
    settings = load_settings()
    state = StateStore(settings.state_db)
    state.register_source("default", "http://127.0.0.1:9/down")  # refuses: a transient failure
    client = QdrantClient(path=str(tmp_path / "qdrant"))
    acquirer = Acquirer(LocalArtifactStore(settings.artifacts_dir), state, settings, lambda: None)
    try:
        with pytest.raises(RebuildRefused, match="could not be read now"):
            rebuild(client, settings, state=state, acquirer=acquirer, dense=dense,
                    sparse=sparse, drop_after_s=0)  # fmt: skip
        collections = {c.name for c in client.get_collections().collections}
        served = ServerReader(client, settings.collection).version
    finally:
        client.close()
    assert collections == {"catalyst_chunks__v1"} and served == "catalyst_chunks__v1"
    docs = ["guidelines/policy.md", "guidelines/thyroid.md"]  # ids: paths under the root
    assert state.manifest("catalyst_chunks@catalyst_chunks__v2", "default", docs) == {}
    assert set(state.manifest("catalyst_chunks", "default", docs)) == set(docs)


def test_the_rebuild_index_job_swaps_the_alias(server_index, monkeypatch):
    from catalyst_orchestration.definitions import defs

    folder, instance, tmp_path = server_index
    monkeypatch.setenv("CATALYST_SEARCH_TIMEOUT_S", "0.5")  # the old collection's grace period
    get_settings.cache_clear()
    (folder / "policy.md").write_text(f"# Policy\n\n{NEW}")
    result = defs().resolve_job_def("rebuild_index").execute_in_process(instance=instance)
    assert result.success
    (materialized,) = [
        e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_OUTPUT
    ]
    metadata = materialized.event_specific_data.metadata  # type: ignore[union-attr]
    assert metadata["new_collection"].value == "catalyst_chunks__v2"
    assert (
        metadata["sources"].value == 1
        and metadata["documents_embedded"].value == 2
        and metadata["sources_caught_up"].value == 0
    )
    client = QdrantClient(path=str(tmp_path / "qdrant"))
    try:
        assert ServerReader(client, "catalyst_chunks").version == "catalyst_chunks__v2"
    finally:
        client.close()


def test_a_failure_after_the_swap_keeps_the_collection_now_served(server_index, dense, sparse):
    from catalyst_orchestration.lib.rebuild import ManifestNotReplaced

    folder, instance, tmp_path = server_index
    settings = load_settings()

    class StateDown(StateStore):
        def replace_collection(self, collection: str, by: str) -> None:
            raise ConnectionError("the state store went away")

    state = StateDown(settings.state_db)
    client = QdrantClient(path=str(tmp_path / "qdrant"))
    acquirer = Acquirer(LocalArtifactStore(settings.artifacts_dir), state, settings, lambda: None)
    meta = index_meta(state, settings, lambda: pytest.fail("the first ingest fixed the meta"))
    try:
        with pytest.raises(ManifestNotReplaced, match="catalyst_chunks__v2"):
            rebuild(client, settings, state=state, acquirer=acquirer, dense=dense,
                    sparse=type(sparse)(avg_len=meta.bm25_avg_len), drop_after_s=0)  # fmt: skip
        collections = {c.name for c in client.get_collections().collections}
        served = ServerReader(client, settings.collection).version
    finally:
        client.close()
    assert served == "catalyst_chunks__v2"  # the alias still serves what it swapped to
    assert collections == {"catalyst_chunks__v1", "catalyst_chunks__v2"}


def test_a_second_rebuild_is_refused_while_one_runs(server_index, dense, sparse):
    """Refused at once, touching nothing: not the collection the first is filling."""
    from catalyst_search.index.server import aliases

    folder, instance, tmp_path = server_index
    settings = load_settings()
    state = StateStore(settings.state_db)
    client = QdrantClient(path=str(tmp_path / "qdrant"))
    acquirer = Acquirer(LocalArtifactStore(settings.artifacts_dir), state, settings, lambda: None)
    try:
        held = StateStore(settings.state_db).rebuild_lock("catalyst_chunks")  # another run's
        with held:
            filling = aliases.next_collection(client, "catalyst_chunks")  # the other's
            with pytest.raises(RebuildRefused, match="another rebuild of catalyst_chunks"):
                rebuild(client, settings, state=state, acquirer=acquirer, dense=dense,
                        sparse=sparse, drop_after_s=0)  # fmt: skip
        collections = {c.name for c in client.get_collections().collections}
    finally:
        client.close()
    assert collections == {"catalyst_chunks__v1", filling}


def test_the_rebuild_job_refused_is_not_retried_by_the_instance(server_index):
    """The instance retries failed runs twice (deploy/*.yaml); a refused rebuild's run is
    tagged so that it is not: a retry would be refused again, or rebuild all over."""
    from catalyst_orchestration.definitions import defs

    folder, instance, tmp_path = server_index
    with StateStore(load_settings().state_db).rebuild_lock("catalyst_chunks"):
        result = (
            defs()
            .resolve_job_def("rebuild_index")
            .execute_in_process(instance=instance, raise_on_error=False)
        )
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    assert run is not None and run.tags["dagster/retry_on_asset_or_op_failure"] == "false"


def test_a_rebuild_drops_what_a_killed_rebuild_left(server_index, dense, sparse):
    """A rebuild killed before its swap leaves its collection and its staged manifest; the
    next rebuild drops both once it has gone live (with the old collection, after the grace
    period), so neither the disk nor the state store keeps them; it never reuses the number."""
    from catalyst_orchestration.lib.state import ManifestEntry
    from catalyst_search.index.server import aliases

    folder, instance, tmp_path = server_index
    settings = load_settings()
    state = StateStore(settings.state_db)
    client = QdrantClient(path=str(tmp_path / "qdrant"))
    killed = aliases.next_collection(client, "catalyst_chunks")
    state.record(f"catalyst_chunks@{killed}", "default", [ManifestEntry("ghost.md", "x", "f", 1)])
    acquirer = Acquirer(LocalArtifactStore(settings.artifacts_dir), state, settings, lambda: None)
    meta = index_meta(state, settings, lambda: pytest.fail("the first ingest fixed the meta"))
    events: list[tuple[str, str]] = []
    try:
        done = rebuild(
            client, settings, state=state, acquirer=acquirer, dense=dense,
            sparse=type(sparse)(avg_len=meta.bm25_avg_len), drop_after_s=0,
            progress=lambda event, detail: events.append((event, detail)),
        )  # fmt: skip
        collections = {c.name for c in client.get_collections().collections}
    finally:
        client.close()
    assert killed == "catalyst_chunks__v2" and ("dropped leftover", killed) in events
    assert (done.old, done.new) == ("catalyst_chunks__v1", "catalyst_chunks__v3")
    assert collections == {"catalyst_chunks__v3"}
    assert state.manifest(f"catalyst_chunks@{killed}", "default", ["ghost.md"]) == {}
    manifest = state.manifest("catalyst_chunks", "default", ["ghost.md", "guidelines/policy.md"])
    assert set(manifest) == {"guidelines/policy.md"}
