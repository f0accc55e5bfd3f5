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
