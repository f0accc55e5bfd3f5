"""``retire_source``: one registered source taken out of the index and of the registered
sources for good, on the embedded default; the server backend's case is in tests/deploy."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from catalyst_orchestration.definitions import defs
from catalyst_orchestration.lib.state import StateStore, partition_key_for
from catalyst_search.index.embedded.reader import EmbeddedReader
from catalyst_search.index.filters import Match, tenant_filter
from catalyst_search.ingest_requests.sqlite_jobs import SqliteJobStore
from catalyst_search.settings import load_settings
from tests.orchestration.helpers import ingest


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


def chunks_from(source: Path) -> int:
    reader = EmbeddedReader(load_settings().index_dir, refresh_s=0)
    try:
        return reader.count(tenant_filter("default").and_(Match("source", (str(source),))))
    finally:
        reader.close()


def retire(instance: dg.DagsterInstance, source: Path) -> dg.ExecuteInProcessResult:
    return (
        defs()
        .resolve_job_def("retire_source")
        .execute_in_process(
            instance=instance,
            partition_key=partition_key_for("default", str(source)),
            raise_on_error=False,
        )
    )


def metadata_of(result: dg.ExecuteInProcessResult) -> dict:
    (output,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_OUTPUT]
    return {k: v.value for k, v in output.event_specific_data.metadata.items()}  # type: ignore[union-attr]


def test_a_retired_source_leaves_the_index_its_watch_and_the_registered_sources(tmp_path, instance):
    gone = folder_with(tmp_path, "gone", "Metformin is the first-line drug for diabetes.")
    kept = folder_with(tmp_path, "kept", "Levothyroxine treats hypothyroidism.")
    for folder in (gone, kept):
        assert ingest(folder, instance)[0].success
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

    assert ingest(gone, instance)[0].success  # an ingest brings it back
    assert chunks_from(gone) == before


def test_a_retire_that_stopped_after_unregistering_ends_on_its_next_run(tmp_path, instance):
    """Unregistered, but its partition left (the run died between the two): a run again
    drops the partition and does nothing else."""
    kept = folder_with(tmp_path, "kept", "Levothyroxine treats hypothyroidism.")
    assert ingest(kept, instance)[0].success
    key = partition_key_for("default", str(kept))
    StateStore(load_settings().state_db).unregister_source(key)
    result = retire(instance, kept)
    assert result.success and metadata_of(result) == {"retired": False}
    assert not instance.has_dynamic_partition("ingest_batches", key)


def test_a_retire_while_a_rebuild_runs_is_refused_and_changes_nothing(tmp_path, instance):
    gone = folder_with(tmp_path, "gone", "Metformin is the first-line drug for diabetes.")
    assert ingest(gone, instance)[0].success
    settings = load_settings()
    before = chunks_from(gone)
    with StateStore(settings.state_db).rebuild_lock(settings.collection):
        result = retire(instance, gone)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    message = failure.step_failure_data.error.message  # type: ignore[union-attr]
    assert "a rebuild of catalyst_chunks is running" in message
    run = instance.get_run_by_id(result.run_id)
    assert run is not None and run.tags["dagster/retry_on_asset_or_op_failure"] == "false"
    assert chunks_from(gone) == before
    assert [s.uri for s in StateStore(settings.state_db).sources()] == [str(gone)]
