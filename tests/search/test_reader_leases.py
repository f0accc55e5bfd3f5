"""Reader leases under ``readers/``: a living reader's lease keeps its version from pruning, a
dead reader's goes, and a lease still being written (its temporary file) is left to its living
writer, which would otherwise fail to take its lease (and a helper generation to start)."""

from __future__ import annotations

import os
import subprocess
import sys

from catalyst_search.index.embedded.versions import ReaderLease, leased_versions


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def test_leases_of_living_readers_hold_and_dead_or_half_written_ones_are_handled(tmp_path):
    lease = ReaderLease(tmp_path)
    lease.hold("v00000002")
    readers = tmp_path / "readers"
    writing = readers / f".{os.getpid()}-abcd1234.{'0' * 32}"  # ours, mid-write
    writing.write_text("")
    dead = _dead_pid()
    (readers / f"{dead}-deadbeef").write_text("v00000001")
    (readers / f".{dead}-deadbeef.{'1' * 32}").write_text("v00000001")
    assert leased_versions(tmp_path) == {"v00000002"}
    assert sorted(p.name for p in readers.iterdir()) == sorted([lease._path.name, writing.name])
    lease.release()
    writing.unlink()
    assert leased_versions(tmp_path) == set()


def test_a_reader_leases_each_version_it_serves_until_its_last_query_ends(
    tmp_path, dense, sparse, monkeypatch
):
    import pytest
    import qdrant_edge as qe

    from catalyst_search.index.embedded.reader import EmbeddedReader
    from catalyst_search.index.embedded.writer import EmbeddedWriter
    from tests.conftest import icd_records
    from tests.helpers.index import points_from_records

    def publish(limit: int) -> str:
        with EmbeddedWriter.open(tmp_path, lock_timeout_s=5) as writer:
            records = icd_records(limit=limit)
            writer.upsert(points_from_records(records, tenant="t", dense=dense, sparse=sparse))
            return writer.publish()

    first = publish(3)
    reader = EmbeddedReader(tmp_path, refresh_s=0)
    try:
        with reader._acquire():  # a query still running on the first version
            second = publish(4)
            assert reader.refresh(force=True) == second
            assert leased_versions(tmp_path) == {first, second}  # both: one still read
        assert leased_versions(tmp_path) == {second}  # the first's last query ended
        third = publish(5)

        def broken(path: str, config: qe.EdgeConfig | None = None) -> qe.EdgeShard:
            raise OSError("cannot load")

        monkeypatch.setattr(qe.EdgeShard, "load", broken)
        with pytest.raises(OSError):
            reader.refresh(force=True)
        assert leased_versions(tmp_path) == {second}  # still served, still leased
        assert reader.version == second and third not in leased_versions(tmp_path)
    finally:
        reader.close()
    assert leased_versions(tmp_path) == set()
