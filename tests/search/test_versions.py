"""One writer, many readers: locking, publishing, crash recovery, hot swap and clean-up."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import time
from pathlib import Path

import pytest

from catalyst_search.index.contract import IndexNotReady
from catalyst_search.index.embedded import versions
from catalyst_search.index.embedded.reader import EmbeddedReader
from catalyst_search.index.embedded.versions import IndexLockTimeout
from catalyst_search.index.embedded.writer import EmbeddedWriter
from catalyst_search.index.factory import open_writer
from catalyst_search.index.filters import FilterSpec, tenant_filter
from catalyst_search.settings import load_settings
from tests.conftest import icd_records
from tests.helpers.index import points_from_records, search_pool_kept

ALL = FilterSpec()


@pytest.fixture(scope="module")
def points(dense, sparse):
    return points_from_records(icd_records(limit=60), tenant="t", dense=dense, sparse=sparse)


def _hold_lock(root, seconds, ready):
    with versions.writer_lock(root, timeout_s=5):
        ready.set()
        time.sleep(seconds)


def test_second_writer_waits_then_times_out(tmp_path):
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(tmp_path, 3, ready))
    holder.start()
    try:
        assert ready.wait(10)
        started = time.monotonic()
        with pytest.raises(IndexLockTimeout, match="writer.lock"):
            EmbeddedWriter.open(tmp_path, lock_timeout_s=0.5)
        assert time.monotonic() - started >= 0.5
    finally:
        holder.join()
    EmbeddedWriter.open(tmp_path, lock_timeout_s=1).close()  # free again once released


def test_reader_is_not_ready_before_the_first_publish(tmp_path):
    reader = EmbeddedReader(tmp_path, refresh_s=0)
    assert reader.version is None
    with pytest.raises(IndexNotReady):
        reader.count(FilterSpec())


def test_reader_swaps_to_new_versions(tmp_path, points):
    with EmbeddedWriter.open(tmp_path, lock_timeout_s=1) as writer:
        writer.upsert(points[:30])
        first = writer.publish()
    reader = EmbeddedReader(tmp_path, refresh_s=0)
    assert reader.version == first
    assert reader.count(tenant_filter("t")) == 30
    with EmbeddedWriter.open(tmp_path, lock_timeout_s=1) as writer:
        writer.upsert(points[30:])
        assert reader.count(tenant_filter("t")) == 30  # unpublished writes are invisible
        second = writer.publish()
    assert reader.refresh() == second
    assert reader.version == second != first
    assert reader.count(tenant_filter("t")) == 60
    reader.close()


def test_unpublished_writes_are_discarded_after_a_crash(tmp_path, points):
    with EmbeddedWriter.open(tmp_path, lock_timeout_s=1) as writer:
        writer.upsert(points[:10])
        writer.publish()
    writer = EmbeddedWriter.open(tmp_path, lock_timeout_s=1)
    writer.upsert(points[10:])  # then the process "dies": no publish
    writer.close()
    assert (tmp_path / "live.dirty").exists()
    with EmbeddedWriter.open(tmp_path, lock_timeout_s=1) as writer:
        assert writer.count(FilterSpec()) == 10  # rebuilt from the published version


def test_old_versions_are_collected_unless_a_reader_holds_them(tmp_path, points):
    with EmbeddedWriter.open(tmp_path, lock_timeout_s=1, versions_kept=1) as writer:
        writer.upsert(points[:5])
        first = writer.publish()
    reader = EmbeddedReader(tmp_path, refresh_s=3600)
    assert reader.version == first  # leased by this (live) process
    for n in range(2):
        with EmbeddedWriter.open(tmp_path, lock_timeout_s=1, versions_kept=1) as writer:
            writer.upsert(points[5 + n : 6 + n])
            latest = writer.publish()
    assert set(versions.list_versions(tmp_path)) == {first, latest}
    reader.close()  # lease released
    versions.collect_garbage(tmp_path, keep=1)
    assert versions.list_versions(tmp_path) == [latest]


def test_published_copy_keeps_files_sparse(tmp_path, points):
    with EmbeddedWriter.open(tmp_path, lock_timeout_s=1) as writer:
        writer.upsert(points)
        name = writer.publish()

    def disk_usage(path):
        return sum(p.stat().st_blocks * 512 for p in path.rglob("*") if p.is_file())

    live, copy = tmp_path / "live", versions.version_dir(tmp_path, name)
    assert disk_usage(copy) <= disk_usage(live) * 1.1 + 64 * 1024


def _recording_fsync(monkeypatch, record):
    """``os.fsync`` that first calls ``record`` with the path of the file it syncs."""
    fsync = os.fsync

    def recording(fd: int) -> None:
        record(os.readlink(f"/proc/self/fd/{fd}"))
        fsync(fd)

    monkeypatch.setattr(os, "fsync", recording)


def test_a_version_is_on_disk_before_current_names_it(tmp_path, points, monkeypatch):
    """On the first publish: the versions folder's name; every file and folder of the new
    version; the rename that made it one; CURRENT; CURRENT's rename. fsynced in that order, so a
    power cut cannot leave CURRENT naming a version half on disk."""
    synced: list[str] = []
    with EmbeddedWriter.open(tmp_path, lock_timeout_s=1) as writer:
        writer.upsert(points)
        _recording_fsync(monkeypatch, synced.append)
        name = writer.publish()
        monkeypatch.undo()

    version = versions.version_dir(tmp_path, name)
    staged, folder = str(version.with_name(f".staging-{name}")), str(version.parent)
    order = [path.replace(staged, str(version)) for path in synced]
    everything = [str(version), *(str(p) for p in version.rglob("*"))]
    assert len(everything) > 20 and set(everything) <= set(order)
    current = next(n for n, path in enumerate(order) if path.startswith(f"{tmp_path}/.CURRENT."))
    assert order[0] == str(tmp_path)  # the new versions folder's name
    assert max(order.index(path) for path in everything) < current
    # the folder once as the copy's parent, and again after the rename, right before CURRENT
    assert order[:current].count(folder) == 2 and order[current - 1] == folder
    assert order[current + 1 :] == [str(tmp_path)]  # CURRENT's own rename last


def test_the_dirty_mark_is_on_disk_before_the_first_write(tmp_path, points, monkeypatch):
    """Qdrant Edge writes the live shard in place with no WAL: a power cut mid-ingest must find
    ``live.dirty`` (and rebuild the shard from CURRENT), so its name is fsynced before the first
    upsert or delete after a publish, once, not at every write."""
    synced: list[tuple[str, int]] = []
    with EmbeddedWriter.open(tmp_path, lock_timeout_s=1) as writer:
        _recording_fsync(monkeypatch, lambda path: synced.append((path, writer.count(ALL))))
        writer.upsert(points[:10])
        assert synced == [(str(tmp_path), 0)]  # before the points were written
        assert (tmp_path / "live.dirty").exists()
        writer.upsert(points[10:])
        writer.delete(tenant_filter("nobody"))
        assert synced == [(str(tmp_path), 0)]
        writer.publish()
        synced.clear()
        writer.delete(tenant_filter("nobody"))  # the first write after the publish: marked again
        assert synced == [(str(tmp_path), len(points))]


def test_a_rebuild_of_the_live_shard_cut_short_is_done_again(tmp_path, points, monkeypatch):
    """A writer whose shard is gone rebuilds it from CURRENT; a power cut mid-copy must leave
    the mark, or the next writer would take the half copy for its shard."""
    with EmbeddedWriter.open(tmp_path, lock_timeout_s=1) as writer:
        writer.upsert(points)
        writer.publish()
    shutil.rmtree(tmp_path / "live")

    def cut_short(src: Path, dst: Path) -> None:
        shutil.copytree(src, dst)
        raise OSError("the power went")

    monkeypatch.setattr(versions, "copy_shard", cut_short)
    with pytest.raises(OSError, match="power"):
        EmbeddedWriter.open(tmp_path, lock_timeout_s=1)
    monkeypatch.undo()
    assert (tmp_path / "live.dirty").exists()
    with EmbeddedWriter.open(tmp_path, lock_timeout_s=1) as writer:
        assert writer.count(ALL) == len(points)
    assert not (tmp_path / "live.dirty").exists()


def test_the_writer_searches_with_the_configured_pool_and_its_versions_carry_it(tmp_path, points):
    """The writer's shard, new or reopened or rebuilt from a version, has the pool size the
    settings give (not whichever a reader last wrote into a version), and so has what it
    publishes."""
    settings = load_settings(home=tmp_path, index_search_threads=3)
    root = settings.index_dir
    with open_writer(settings) as writer:  # the setting, through the factory
        assert search_pool_kept(root / "live") == 3  # a new shard
        writer.upsert(points[:20])
        first = writer.publish()
    assert search_pool_kept(versions.version_dir(root, first)) == 3
    with EmbeddedWriter.open(root, lock_timeout_s=5, search_threads=2) as writer:
        assert search_pool_kept(root / "live") == 2  # reopened
    EmbeddedReader(root, refresh_s=0, search_threads=5).close()  # a reader writes its own
    assert search_pool_kept(versions.version_dir(root, first)) == 5
    shutil.rmtree(root / "live")  # rebuilt from the version the reader loaded
    with EmbeddedWriter.open(root, lock_timeout_s=5, search_threads=2) as writer:
        assert search_pool_kept(root / "live") == 2
        assert writer.count(ALL) == 20
        writer.upsert(points[20:30])
        second = writer.publish()
    assert search_pool_kept(versions.version_dir(root, second)) == 2
