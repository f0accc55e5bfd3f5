"""Deletions from a folder, the folder sensor and the nightly re-sync schedule, evaluated with
Dagster's test contexts, and the definitions as ``dagster definitions validate`` sees them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime

import dagster as dg
import pytest

from catalyst_orchestration.definitions import defs
from catalyst_orchestration.defs.acquisition.schedules import resync_sources
from catalyst_orchestration.defs.acquisition.sensors import watched_folders
from catalyst_orchestration.defs.resources import ingest_resources
from catalyst_search.index.embedded.reader import EmbeddedReader
from catalyst_search.index.filters import document_filter
from catalyst_search.ingest_requests.sqlite_jobs import SqliteJobStore
from catalyst_search.settings import load_settings
from tests.conftest import ROOT, icd_records, write_jsonl
from tests.helpers.dns import resolver
from tests.orchestration.helpers import ingest


@pytest.fixture
def instance(catalyst_home):
    with dg.instance_for_test() as test_instance:
        yield test_instance


def chunks_of(document_id: str) -> int:
    reader = EmbeddedReader(load_settings().index_dir, refresh_s=0)
    try:
        return reader.count(document_filter("default", document_id))
    finally:
        reader.close()


def test_a_file_deleted_from_a_folder_loses_its_chunks_at_the_next_sync(tmp_path, instance):
    folder = tmp_path / "handbook"
    folder.mkdir()
    (folder / "thyroid.md").write_text("# Thyroid\n\nLevothyroxine treats hypothyroidism.")
    (folder / "gout.txt").write_text("Colchicine eases an acute gout flare.")
    write_jsonl(folder / "codes.jsonl", icd_records(limit=3))
    result, meta = ingest(folder, instance)
    assert result.success and meta["documents_new"] == 5
    assert chunks_of("handbook/gout.txt") == 2  # its chunk and its heading (the title)

    (folder / "gout.txt").unlink()
    result, meta = ingest(folder, instance)
    assert (meta["documents_deleted"], meta["documents_unchanged"]) == (1, 4)
    assert meta["chunks_deleted"] == 2 and chunks_of("handbook/gout.txt") == 0
    assert chunks_of("handbook/thyroid.md") == 2

    # a record dropped from a records file is a deleted document too
    kept = icd_records(limit=3)[:2]
    write_jsonl(folder / "codes.jsonl", kept)
    result, meta = ingest(folder, instance)
    assert meta["documents_deleted"] == 1


def test_a_document_that_moves_to_another_source_stays_searchable(tmp_path, instance):
    first, second = tmp_path / "f1", tmp_path / "f2"
    first.mkdir(), second.mkdir()
    records = icd_records(limit=3)
    write_jsonl(first / "codes.jsonl", records)
    write_jsonl(second / "codes.jsonl", records[:1])
    ingest(first, instance)
    moved = records[0]["id"]
    write_jsonl(first / "codes.jsonl", records[1:])  # the record now lives in f2 only
    _, meta = ingest(second, instance)
    assert meta["documents_changed"] == 1  # written again, under the source that holds it
    _, meta = ingest(first, instance)
    assert meta["documents_deleted"] == 0  # f1 no longer owns it: nothing of f2's is removed
    assert chunks_of(moved) >= 1


def test_odd_file_names_are_stored_and_read_back(tmp_path, instance):
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "report v2#final (1).md").write_text("# Report\n\nHbA1c fell to 6.9%.")
    result, meta = ingest(folder, instance)
    assert result.success and meta["documents_new"] == 1 and meta["documents_failed"] == 0
    _, meta = ingest(folder, instance)
    assert meta["documents_unchanged"] == 1


def test_a_records_line_that_fails_to_parse_deletes_nothing(tmp_path, instance):
    folder = tmp_path / "codes"
    folder.mkdir()
    write_jsonl(folder / "codes.jsonl", icd_records(limit=3))
    ingest(folder, instance)
    path = folder / "codes.jsonl"
    path.write_text(path.read_text().splitlines()[0] + "\n{not json\n")
    _, meta = ingest(folder, instance)
    assert meta["documents_deleted"] == 0  # the broken line may be a kept document
    assert meta["documents_failed"] == 1


def sensor_tick(instance, cursor):
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources=ingest_resources()
    ) as context:
        return watched_folders(context)


def test_the_folder_sensor_syncs_a_watched_folder_when_its_files_change(tmp_path, instance):
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nfirst")
    jobs = SqliteJobStore(load_settings().jobs_db)
    watch = jobs.watches.add("default", str(folder))
    jobs.watches.add("default", "https://example.org/page")  # not the folder sensor's

    first = sensor_tick(instance, None)
    assert [r.tags["catalyst/watch_id"] for r in first.run_requests] == [watch.watch_id]
    assert sensor_tick(instance, first.cursor).run_requests == []
    (folder / "b.md").write_text("# B\n\nsecond")
    second = sensor_tick(instance, first.cursor)
    assert len(second.run_requests) == 1
    os.remove(folder / "b.md")
    third = sensor_tick(instance, second.cursor)
    assert len(third.run_requests) == 1  # a deletion is a change too, back to the first state
    keys = {r.run_key for r in (*first.run_requests, *second.run_requests, *third.run_requests)}
    assert len(keys) == 3  # the first state again is a new run, not a forgotten key

    records = write_jsonl(tmp_path / "codes.jsonl", icd_records(limit=2))
    jobs.watches.add("default", str(records))
    fourth = sensor_tick(instance, third.cursor)
    assert len(fourth.run_requests) == 1  # a watched records file is synced
    write_jsonl(records, icd_records(limit=3))
    os.utime(records, ns=(1, 2))
    assert len(sensor_tick(instance, fourth.cursor).run_requests) == 1  # and so is its change


def test_the_sensor_takes_turns_and_caps_runs_per_tick(tmp_path, instance, monkeypatch):
    from catalyst_search.settings import get_settings

    monkeypatch.setenv("CATALYST_WATCH_RUNS_PER_TICK", "2")
    get_settings.cache_clear()
    jobs = SqliteJobStore(load_settings().jobs_db)
    for n in range(5):
        (tmp_path / f"f{n}").mkdir()
        (tmp_path / f"f{n}" / "doc.md").write_text(f"# Doc {n}")
        jobs.watches.add("default", str(tmp_path / f"f{n}"))
    cursor, seen = None, []
    for _ in range(3):
        result = sensor_tick(instance, cursor)
        assert len(result.run_requests) <= 2
        seen += [r.tags["catalyst/watch_id"] for r in result.run_requests]
        cursor = result.cursor
    assert len(set(seen)) == 5 and len(json.loads(cursor)["digests"]) == 5


def _resync(instance: dg.DagsterInstance) -> object:
    """``resync_sources`` as the daemon runs it at 03:00 UTC on 2026-12-01."""
    when = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=when, resources=ingest_resources()
    ) as context:
        return resync_sources(context)


def test_the_schedule_resyncs_every_watched_source_once_a_day(tmp_path, instance, monkeypatch):
    from catalyst_search.settings import get_settings

    monkeypatch.setenv("CATALYST_OUTBOUND_ALLOW", "127.0.0.1")
    get_settings.cache_clear()
    jobs = SqliteJobStore(load_settings().jobs_db)
    folder = tmp_path / "docs"
    folder.mkdir()
    jobs.watches.add("default", str(folder))
    jobs.watches.add("acme", "http://127.0.0.1:9/handbook")
    jobs.watches.add("acme", "https://docs.invalid/handbook")  # no such name: skipped
    resolver(monkeypatch, {"docs.invalid": socket.EAI_NONAME})  # (not this machine's DNS)
    jobs.watches.add("acme", str(ROOT / "samples" / "corpus"))
    requests = _resync(instance)
    assert isinstance(requests, list)
    # every watch its tenant's rules still allow is re-synced (web pages too), each under a
    # job of its tenant; one whose host no longer resolves is skipped with a warning
    tenants = sorted(r.tags["catalyst/tenant"] for r in requests)
    assert tenants == ["acme", "acme", "default"]
    for request in requests:
        job = jobs.get(request.tags["catalyst/job_id"])
        assert job is not None and job.metadata["origin"] == "schedule:resync_sources"
        assert request.run_key.endswith(":2026-12-01")
    again = _resync(instance)
    assert isinstance(again, list)  # the same run keys (Dagster launches each once), same jobs
    assert {r.run_key for r in again} == {r.run_key for r in requests}
    assert {r.tags["catalyst/job_id"] for r in again} == {
        r.tags["catalyst/job_id"] for r in requests
    }


def test_a_watch_that_cannot_be_resynced_costs_the_others_nothing(tmp_path, instance, monkeypatch):
    from catalyst_orchestration.defs.acquisition import schedules

    jobs = SqliteJobStore(load_settings().jobs_db)
    folders = [tmp_path / name for name in ("a", "b", "c")]
    for folder in folders:
        folder.mkdir()
        jobs.watches.add("default", str(folder))
    request = schedules.sync_request

    def breaks_on_b(instance, state, store, watch, **kwargs):  # e.g. the state store's error
        if watch.uri == str(folders[1]):
            raise RuntimeError("the state store broke")
        return request(instance, state, store, watch, **kwargs)

    monkeypatch.setattr(schedules, "sync_request", breaks_on_b)
    requests = _resync(instance)
    assert isinstance(requests, list)
    assert sorted(r.tags["catalyst/watch_id"] for r in requests) == sorted(
        w.watch_id for w in jobs.watches.listed() if w.uri != str(folders[1])
    )


def test_definitions_validate_with_the_sensors_and_schedule(catalyst_home):
    loaded = defs()
    assert loaded.resolve_sensor_def("watched_s3_sources").default_status == (
        dg.DefaultSensorStatus.RUNNING
    )
    assert loaded.resolve_sensor_def("watched_folders") is not None
    assert loaded.resolve_schedule_def("resync_sources").cron_schedule == "0 3 * * *"
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    done = subprocess.run(
        [dagster, "definitions", "validate", "-m", "catalyst_orchestration.definitions"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "All code locations passed validation" in done.stdout + done.stderr


def test_two_folders_of_one_tenant_keep_their_files_apart(tmp_path, instance):
    """A file's id is its path under the tenant's source root, so two folders' README.md are
    two documents: neither overwrites the other, and syncing one again writes nothing."""
    for team, day in (("alpha", "Mondays"), ("beta", "Fridays")):
        (tmp_path / team).mkdir()
        (tmp_path / team / "README.md").write_text(f"# {team}\n\nThe team deploys on {day}.")
        result, meta = ingest(tmp_path / team, instance)
        assert result.success and meta["documents_new"] == 1
    assert chunks_of("alpha/README.md") == chunks_of("beta/README.md") == 2
    result, meta = ingest(tmp_path / "alpha", instance)
    assert (meta["documents_unchanged"], meta["chunks_written"]) == (1, 0)
    assert chunks_of("beta/README.md") == 2


def test_a_resync_with_every_watch_refused_says_so(tmp_path, instance, monkeypatch):
    """Not "no watched sources": there were some, and the tenants' rules refuse them now."""
    jobs = SqliteJobStore(load_settings().jobs_db)
    jobs.watches.add("acme", "https://docs.invalid/handbook")
    resolver(monkeypatch, {"docs.invalid": socket.EAI_NONAME})
    skipped = _resync(instance)
    assert isinstance(skipped, dg.SkipReason)
    assert skipped.skip_message == "none of the 1 watched sources could be re-synced: see the log"
