"""A registered folder that is gone stops every rebuild (a rebuild never replaces the index by
a smaller one) until the source is retired."""

from __future__ import annotations

import shutil

import pytest
from qdrant_client import QdrantClient

from catalyst_orchestration.definitions import defs
from catalyst_orchestration.lib.artifacts import LocalArtifactStore
from catalyst_orchestration.lib.rebuild import rebuild
from catalyst_orchestration.lib.sources import Acquirer
from catalyst_orchestration.lib.state import StateStore, partition_key_for
from catalyst_orchestration.lib.state_stores import index_meta
from catalyst_search.index.filters import FilterSpec, Match
from catalyst_search.index.server.reader import ServerReader
from catalyst_search.settings import load_settings
from tests.orchestration.helpers import ingest


def test_a_gone_folder_stops_rebuilds_until_it_is_retired(server_index, dense, sparse):
    folder, instance, tmp_path = server_index
    trials = tmp_path / "trials"
    trials.mkdir()
    (trials / "sustain.md").write_text("# Sustain\n\nSemaglutide lowered HbA1c in adults.")
    assert ingest(trials, instance)[0].success
    shutil.rmtree(trials)  # the folder is gone from the ingest host
    settings = load_settings()
    state = StateStore(settings.state_db)
    acquirer = Acquirer(LocalArtifactStore(settings.artifacts_dir), state, settings, lambda: None)
    meta = index_meta(state, settings, lambda: pytest.fail("the first ingest fixed the meta"))
    bm25 = type(sparse)(avg_len=meta.bm25_avg_len)

    def rebuild_now() -> str:
        client = QdrantClient(path=str(tmp_path / "qdrant"))
        try:
            rebuild(client, settings, state=state, acquirer=acquirer, dense=dense, sparse=bm25,
                    drop_after_s=0)  # fmt: skip
            return str(ServerReader(client, settings.collection).version)
        finally:
            client.close()

    with pytest.raises(FileNotFoundError, match="does not exist"):
        rebuild_now()  # (what it had built removed)
    retired = (
        defs()
        .resolve_job_def("retire_source")
        .execute_in_process(
            instance=instance, partition_key=partition_key_for("default", str(trials))
        )
    )
    assert retired.success
    assert rebuild_now() == "catalyst_chunks__v2"  # live: the refused one left nothing
    client = QdrantClient(path=str(tmp_path / "qdrant"))
    try:
        reader = ServerReader(client, settings.collection)
        tenant = FilterSpec(must=(Match("tenant_id", ("default",)),))
        assert reader.count(tenant.and_(Match("source", (str(trials),)))) == 0
        assert reader.count(tenant.and_(Match("source", (str(folder),)))) > 0
    finally:
        client.close()
