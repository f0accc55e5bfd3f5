"""``retire_source``: one registered source taken out of the index and of the registered
sources for good, on the embedded default; the server backend's case is in tests/deploy."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from catalyst_orchestration.definitions import defs
from catalyst_orchestration.defs.acquisition.watching import (
    IndexBusy,
    WatchRemoved,
    launchable,
    sync_request,
)
from catalyst_orchestration.defs.partitions import register_source
from catalyst_orchestration.defs.resources import ingest_resources
from catalyst_orchestration.lib.state import RemoteObject, StateStore, partition_key_for
from catalyst_search.index.embedded.reader import EmbeddedReader
from catalyst_search.index.filters import Match, tenant_filter
from catalyst_search.ingest_requests.sqlite_jobs import SqliteJobStore
from catalyst_search.settings import load_settings
from tests.orchestration.helpers import ASSETS, ingest


@pytest.fixture
def instance(catalyst_home):
    with dg.instance_for_test() as test_instance:
        yield test_instance


def folder_with(root: Path, name: str, text: str) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "a.md").write_text(f"# {name}\n\n{text}")
    (folder / "b.md").write_text(f"# {name} notes\n\nMore about {text}")
    return folder


def chunks_from(source: Path, tenant: str = "default") -> int:
    reader = EmbeddedReader(load_settings().index_dir, refresh_s=0)
    try:
        return reader.count(tenant_filter(tenant).and_(Match("source", (str(source),))))
    finally:
        reader.close()


def retire(
    instance: dg.DagsterInstance, source: Path, tenant: str = "default", **tags: str
) -> dg.ExecuteInProcessResult:
    return (
        defs()
        .resolve_job_def("retire_source")
        .execute_in_process(
            instance=instance,
            partition_key=partition_key_for(tenant, str(source)),
            tags=tags,
            raise_on_error=False,
        )
    )


def failure_of(result: dg.ExecuteInProcessResult) -> str:
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    return failure.step_failure_data.error.message  # type: ignore[union-attr]


def metadata_of(result: dg.ExecuteInProcessResult) -> dict:
    (output,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_OUTPUT]
    return {k: v.value for k, v in output.event_specific_data.metadata.items()}  # type: ignore[union-attr]


def stored_outputs(instance: dg.DagsterInstance, source: Path) -> list[str]:
    """The ingest steps' outputs stored for ``source``'s partition (Dagster's default place)."""
    key = partition_key_for("default", str(source))
    storage = Path(instance.storage_directory())
    return sorted(p.parent.name for p in storage.glob(f"*/{key}"))


def test_a_retired_source_leaves_the_index_its_watch_and_the_registered_sources(tmp_path, instance):
    gone = folder_with(tmp_path, "gone", "Metformin is the first-line drug for diabetes.")
    kept = folder_with(tmp_path, "kept", "Levothyroxine treats hypothyroidism.")
    for folder in (gone, kept):
        assert ingest(folder, instance)[0].success
    steps = ["chunks", "parsed_documents", "raw_documents"]  # copies of the documents
    assert stored_outputs(instance, gone) == stored_outputs(instance, kept) == steps
    settings = load_settings()
    watches = SqliteJobStore(settings.jobs_db).watches
    watches.add("default", str(gone))
    before = chunks_from(gone)
    kept_before = chunks_from(kept)
    assert before > 0 and kept_before > 0

    result = retire(instance, gone)
    assert result.success
    assert metadata_of(result) | {"index_version": ""} == {
        "retired": True,
        "source": str(gone),
        "tenant_id": "default",
        "documents_deleted": 2,
        "chunks_deleted": before,
        "watch_removed": True,
        "index_version": "",
    }
    assert chunks_from(gone) == 0 and chunks_from(kept) == kept_before
    state = StateStore(settings.state_db)
    assert [s.uri for s in state.sources()] == [str(kept)]
    ids = ["gone/a.md", "gone/b.md", "kept/a.md", "kept/b.md"]
    assert set(state.manifest(settings.collection, "default", ids)) == {"kept/a.md", "kept/b.md"}
    assert watches.listed("default") == []
    key = partition_key_for("default", str(gone))
    assert not instance.has_dynamic_partition("ingest_batches", key)
    assert stored_outputs(instance, gone) == [] and stored_outputs(instance, kept) == steps

    assert ingest(gone, instance)[0].success  # an ingest brings it back
    assert chunks_from(gone) == before


def test_the_outputs_a_retire_deletes_are_the_ingest_jobs_assets():
    from catalyst_orchestration.defs.jobs import INGEST_ASSETS, INGEST_GROUP

    graph = defs().resolve_asset_graph()
    assert set(INGEST_ASSETS) == graph.asset_keys_for_group(INGEST_GROUP)


def test_a_retire_that_stopped_after_unregistering_ends_on_its_next_run(tmp_path, instance):
    """Unregistered, but its partition left (the run died between the two): a run again
    drops the partition and does nothing else."""
    kept = folder_with(tmp_path, "kept", "Levothyroxine treats hypothyroidism.")
    assert ingest(kept, instance)[0].success
    assert stored_outputs(instance, kept) == ["chunks", "parsed_documents", "raw_documents"]
    key = partition_key_for("default", str(kept))
    StateStore(load_settings().state_db).unregister_source(key)
    result = retire(instance, kept)
    assert result.success and metadata_of(result) == {"retired": False}
    assert not instance.has_dynamic_partition("ingest_batches", key)
    assert stored_outputs(instance, kept) == []


def test_a_retire_while_a_rebuild_runs_is_refused_and_changes_nothing(tmp_path, instance):
    gone = folder_with(tmp_path, "gone", "Metformin is the first-line drug for diabetes.")
    assert ingest(gone, instance)[0].success
    settings = load_settings()
    before = chunks_from(gone)
    with StateStore(settings.state_db).rebuild_lock(settings.collection):
        result = retire(instance, gone)
    assert not result.success
    assert "a rebuild of catalyst_chunks (or another retire) is running" in failure_of(result)
    run = instance.get_run_by_id(result.run_id)
    assert run is not None and run.tags["dagster/retry_on_asset_or_op_failure"] == "false"
    assert chunks_from(gone) == before
    assert [s.uri for s in StateStore(settings.state_db).sources()] == [str(gone)]


def test_a_retire_in_a_backfill_is_refused(tmp_path, instance):
    """A backfill of retire_source over all partitions would retire every source."""
    gone = folder_with(tmp_path, "gone", "Metformin is the first-line drug for diabetes.")
    assert ingest(gone, instance)[0].success
    result = retire(instance, gone, **{"dagster/backfill": "everything"})
    assert not result.success and "not in a backfill" in failure_of(result)
    assert chunks_from(gone) > 0


def _index_step_started(instance: dg.DagsterInstance, partition_key: str) -> bool:
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": partition_key}))
    return any(
        event.step_key == "index"
        for run in runs
        for event in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
    )


def test_an_ingest_whose_source_is_retired_while_it_runs_writes_nothing(tmp_path, instance):
    """Its index step waits on the index lock the retire holds, then finds no source."""
    kept = folder_with(tmp_path, "kept", "Levothyroxine treats hypothyroidism.")
    assert ingest(kept, instance)[0].success
    gone = folder_with(tmp_path, "gone", "Metformin is the first-line drug for diabetes.")
    state = StateStore(load_settings().state_db)
    key = register_source(instance, state, tenant_id="default", uri=str(gone)).partition_key
    holding = threading.Event()

    def retire_meanwhile() -> None:
        with state.index_lock(exclusive=True):  # what retire holds while it works
            holding.set()
            deadline = time.monotonic() + 120
            while not _index_step_started(instance, key) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)  # the step is waiting on the lock by now
            state.unregister_source(key)

    retirer = threading.Thread(target=retire_meanwhile)
    retirer.start()
    assert holding.wait(10)
    result = dg.materialize(
        ASSETS, instance=instance, partition_key=key, resources=ingest_resources(),
        raise_on_error=False,
    )  # fmt: skip
    retirer.join()
    assert not result.success and "was retired while this run ran" in failure_of(result)
    assert chunks_from(gone) == 0 and chunks_from(kept) > 0
    # what its first steps stored after the retire began goes with it
    assert stored_outputs(instance, gone) == [] and stored_outputs(instance, kept) != []


def test_a_watch_removed_while_a_tick_ran_gets_no_run_and_no_source(tmp_path, instance):
    """The tick listed the watch; a retire removed it before the tick registered it."""
    folder = folder_with(tmp_path, "gone", "Metformin is the first-line drug for diabetes.")
    settings = load_settings()
    jobs, state = SqliteJobStore(settings.jobs_db), StateStore(settings.state_db)
    watch = jobs.watches.add("default", str(folder))
    jobs.watches.remove("default", watch.watch_id)
    with pytest.raises(WatchRemoved):
        sync_request(instance, state, jobs, watch, run_key="k", origin="sensor:watched_folders")
    assert state.sources() == []
    assert instance.get_dynamic_partitions("ingest_batches") == []


def test_one_tenants_retire_leaves_anothers_source_of_the_same_uri(tmp_path, instance):
    shared = folder_with(tmp_path, "shared", "Levothyroxine treats hypothyroidism.")
    for tenant in ("default", "other"):
        assert ingest(shared, instance, tenant=tenant)[0].success
    state = StateStore(load_settings().state_db)
    cached = RemoteObject("a.md", "etag", "sha", "file:///a", 1, "text/markdown")
    state.record_remote_objects(str(shared), [cached], keep=None)  # (as an S3 source's)
    kept = chunks_from(shared, "other")
    assert retire(instance, shared, "default").success
    assert chunks_from(shared, "default") == 0 and chunks_from(shared, "other") == kept
    assert state.remote_objects(str(shared)) == {"a.md": cached}  # the other's still
    assert retire(instance, shared, "other").success
    assert state.remote_objects(str(shared)) == {}


def test_a_retire_waits_for_an_ingest_step_that_is_writing(tmp_path, instance):
    gone = folder_with(tmp_path, "gone", "Metformin is the first-line drug for diabetes.")
    assert ingest(gone, instance)[0].success
    state = StateStore(load_settings().state_db)
    holding, released = threading.Event(), []

    def write_meanwhile() -> None:
        with state.index_lock():  # what an index step holds while it writes
            holding.set()
            time.sleep(1.5)
            released.append(time.monotonic())

    writer = threading.Thread(target=write_meanwhile)
    writer.start()
    assert holding.wait(10)
    result = retire(instance, gone)
    done = time.monotonic()
    writer.join()
    assert result.success and done > released[0]  # it waited for the write to end


def test_a_watch_synced_while_the_index_is_held_is_looked_at_again_later(tmp_path, instance):
    folder = folder_with(tmp_path, "inbox", "Metformin is the first-line drug for diabetes.")
    settings = load_settings()
    jobs, state = SqliteJobStore(settings.jobs_db), StateStore(settings.state_db)
    watch = jobs.watches.add("default", str(folder))
    with state.index_lock(exclusive=True), pytest.raises(IndexBusy):  # a retire, a swap
        sync_request(instance, state, jobs, watch, run_key="k", origin="sensor:watched_folders")
    assert state.sources() == []
    request = sync_request(instance, state, jobs, watch, run_key="k", origin="sensor:test")
    assert request.partition_key == partition_key_for("default", str(folder))


def test_a_request_whose_source_was_retired_during_the_tick_is_left_out(tmp_path, instance):
    """A request for a partition that is gone would fail the whole tick; its job ends."""
    folder = folder_with(tmp_path, "inbox", "Metformin is the first-line drug for diabetes.")
    other = folder_with(tmp_path, "other", "Levothyroxine treats hypothyroidism.")
    settings = load_settings()
    jobs, state = SqliteJobStore(settings.jobs_db), StateStore(settings.state_db)
    requests = [
        sync_request(instance, state, jobs, jobs.watches.add("default", str(f)), run_key=str(f),
                     origin="sensor:watched_folders")
        for f in (folder, other)
    ]  # fmt: skip
    assert retire(instance, folder).success  # after the tick registered it
    kept = launchable(instance, jobs, requests, logging.getLogger(__name__))
    assert kept == [requests[1]]
    ended = jobs.get(requests[0].tags["catalyst/job_id"])
    assert ended is not None and ended.status == "cancelled"
