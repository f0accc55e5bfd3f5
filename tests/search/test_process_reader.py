"""The embedded index queried from helper processes (the search service's default): the same
answers as the reader in the service's own process, new versions seen, a dead helper replaced."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from catalyst_search.api.app import create_app
from catalyst_search.embed.dense import DenseEncoder
from catalyst_search.embed.sparse import SparseEncoder
from catalyst_search.index.contract import HybridQuery, IndexNotReady
from catalyst_search.index.embedded import process_reader, versions
from catalyst_search.index.embedded.helper import Helper
from catalyst_search.index.embedded.process_reader import ProcessReader
from catalyst_search.index.embedded.reader import EmbeddedReader
from catalyst_search.index.embedded.writer import EmbeddedWriter
from catalyst_search.index.factory import open_reader
from catalyst_search.index.filters import tenant_filter
from catalyst_search.retrieval.factory import build_retriever
from catalyst_search.settings import Settings, SettingsError
from tests.conftest import icd_records
from tests.helpers.index import points_from_records, search_pool_kept


def _publish(root: Path, records: list[dict], dense: DenseEncoder, sparse: SparseEncoder) -> str:
    with EmbeddedWriter.open(root, lock_timeout_s=5) as writer:
        writer.upsert(points_from_records(records, tenant="default", dense=dense, sparse=sparse))
        return writer.publish()


def _query(text: str, dense: DenseEncoder, sparse: SparseEncoder) -> HybridQuery:
    return HybridQuery(
        dense.encode([text])[0].tolist(),
        sparse.encode_query(text),
        tenant_filter("default", None),
        limit=10,
        fusion="dbsf",
        hnsw_ef=256,
    )


def test_helpers_answer_as_the_reader_in_this_process_and_see_new_versions(
    settings: Settings, dense: DenseEncoder, sparse: SparseEncoder
) -> None:
    records = icd_records(120)
    first = _publish(settings.index_dir, records[:80], dense, sparse)
    here = EmbeddedReader(settings.index_dir, refresh_s=0)
    there = ProcessReader(settings.index_dir, refresh_s=0, processes=2)
    try:
        assert there.version == here.version == first
        for text in ("type 2 diabetes with hyperglycemia", "thyroid nodule", "iodine"):
            query = _query(text, dense, sparse)
            timings: dict[str, float] = {}
            assert there.query(query, timings) == here.query(query)
            assert set(timings) == {"prefetch", "fusion", "index"}  # index: the whole call
            assert timings["index"] >= timings["prefetch"] + timings["fusion"] - 0.002  # (rounding)
        everything = tenant_filter("default", None)
        assert there.count(everything) == here.count(everything) == 80
        ids = [hit.id for hit in here.query(_query("thyroid", dense, sparse))]
        assert there.dense_vectors(ids) == here.dense_vectors(ids)

        second = _publish(settings.index_dir, records[80:], dense, sparse)
        # new helpers, started in the background
        _eventually(lambda: there.refresh() == second, f"{second} served")
        for _ in range(2):  # both helpers
            assert there.count(everything) == 120
            assert there.version == second
    finally:
        there.close()
        here.close()


def _search_pool(pid: int | None) -> int:
    """How many threads of Qdrant Edge's search pool process ``pid`` runs."""
    names = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            names.append((task / "comm").read_text())
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
    return sum(name.startswith("edge-search") for name in names)


def test_every_helper_searches_with_the_configured_pool_of_threads(
    settings: Settings, dense: DenseEncoder, sparse: SparseEncoder
) -> None:
    """CATALYST_INDEX_SEARCH_THREADS reaches each helper's Qdrant Edge, also in the helpers a
    new version starts."""
    records = icd_records(40)
    _publish(settings.index_dir, records[:20], dense, sparse)
    reader = open_reader(settings.model_copy(update={"index_search_threads": 2}), processes=1)
    try:
        (first,) = reader.pids  # type: ignore[attr-defined]
        # (a pool thread names itself once it runs: a moment after the load, on a busy machine)
        _eventually(lambda: _search_pool(first) == 2, "two search threads", timeout_s=20)
        second = _publish(settings.index_dir, records[20:], dense, sparse)
        _eventually(lambda: reader.refresh() == second, f"{second} served")
        (new,) = reader.pids  # type: ignore[attr-defined]
        assert new != first
        _eventually(lambda: _search_pool(new) == 2, "two in the new helper", timeout_s=20)
        assert len(reader.query(_query("thyroid", dense, sparse))) == 10
    finally:
        reader.close()
    # in this process too (the tuning job's reader): Qdrant Edge keeps what it was told
    here = open_reader(settings.model_copy(update={"index_search_threads": 3}))
    try:
        assert search_pool_kept(versions.version_dir(settings.index_dir, second)) == 3
    finally:
        here.close()


def _eventually(holds: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    """Wait until ``holds()``; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not holds():
        assert time.monotonic() < deadline, f"not within {timeout_s:g}s: {what}"
        time.sleep(0.05)


def test_a_new_version_is_served_by_new_helpers_while_the_old_ones_answer(
    settings: Settings, dense: DenseEncoder, sparse: SparseEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = icd_records(60)
    first = _publish(settings.index_dir, records[:40], dense, sparse)
    reader = ProcessReader(settings.index_dir, refresh_s=0, processes=1)
    everything = tenant_filter("default", None)
    starting, go_on = _hold_new_generations(monkeypatch)
    try:
        (old,) = reader.pids
        assert old is not None
        second = _publish(settings.index_dir, records[40:], dense, sparse)
        assert reader.refresh() == first  # looked, and started new helpers in the background
        assert starting.wait(10)
        for _ in range(3):  # meanwhile the old helper answers, from the old version
            assert reader.count(everything) == 40
        assert reader.version == first and reader.pids == [old]
        go_on.set()
        _eventually(lambda: reader.refresh() == second, f"{second} served")
        assert reader.count(everything) == 60
        (new,) = reader.pids
        assert new != old
        # the old helper is stopped and reaped once the new one serves
        _eventually(lambda: not _alive(old), "the old helper stopped", timeout_s=30)
    finally:
        go_on.set()
        reader.close()


def _hold_new_generations(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[threading.Event, threading.Event]:
    """Helpers of a new generation start only once the second event is set."""
    starting, go_on = threading.Event(), threading.Event()

    def held(
        root: Path, timeout_s: float, version: str | None, generation: int = 0, **kw: int
    ) -> Helper:
        if generation > 0:
            starting.set()
            go_on.wait(30)
        return Helper(root, timeout_s, version, generation, **kw)

    monkeypatch.setattr(process_reader, "Helper", held)
    return starting, go_on


def test_a_version_whose_helpers_cannot_start_is_reported_once_and_the_old_one_served(
    settings: Settings, dense: DenseEncoder, sparse: SparseEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _publish(settings.index_dir, icd_records(30), dense, sparse)
    reader = ProcessReader(settings.index_dir, refresh_s=0, processes=1)
    started: list[str | None] = []

    def counted(
        root: Path, timeout_s: float, version: str | None, generation: int = 0, **kw: int
    ) -> Helper:
        started.append(version)
        return Helper(root, timeout_s, version, generation, **kw)

    monkeypatch.setattr(process_reader, "Helper", counted)
    try:
        (settings.index_dir / "versions" / "v00000009").mkdir()  # a version with nothing in it
        (settings.index_dir / "CURRENT").write_text("v00000009")
        assert reader.refresh() == first
        _eventually(lambda: bool(started) and not reader._swapping, "the new generation's try")
        for _ in range(5):  # looked at again and again: not tried again
            assert reader.refresh() == first
            assert reader.count(tenant_filter("default", None)) == 30
        assert started == ["v00000009"]
    finally:
        reader.close()


def test_a_helper_restarted_after_a_crash_serves_the_pools_version(
    settings: Settings, dense: DenseEncoder, sparse: SparseEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = icd_records(50)
    first = _publish(settings.index_dir, records[:20], dense, sparse)
    reader = ProcessReader(settings.index_dir, refresh_s=0, processes=1)
    _, go_on = _hold_new_generations(monkeypatch)  # the new version's generation waits
    try:
        _publish(settings.index_dir, records[20:], dense, sparse)
        (pid,) = reader.pids
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        assert reader.count(tenant_filter("default", None)) == 20  # restarted: still the first
        assert reader.version == first
    finally:
        go_on.set()
        reader.close()


def test_closing_while_a_new_generation_starts_leaves_no_helper_running(
    settings: Settings, dense: DenseEncoder, sparse: SparseEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = icd_records(40)
    _publish(settings.index_dir, records[:20], dense, sparse)
    reader = ProcessReader(settings.index_dir, refresh_s=0, processes=1)
    starting, go_on = _hold_new_generations(monkeypatch)
    _publish(settings.index_dir, records[20:], dense, sparse)
    reader.refresh()
    assert starting.wait(10)
    threading.Timer(0.5, go_on.set).start()  # the start goes on while close() waits for it
    reader.close()
    assert not multiprocessing.active_children()


def test_an_index_not_published_yet_is_not_ready(
    settings: Settings, dense: DenseEncoder, sparse: SparseEncoder
) -> None:
    reader = ProcessReader(settings.index_dir, refresh_s=0, processes=1)
    try:
        assert reader.version is None
        before = reader.pids
        with pytest.raises(IndexNotReady, match="no index version"):
            reader.query(_query("diabetes", dense, sparse))
        assert reader.pids == before  # the read's own error: the helper stays
    finally:
        reader.close()


def test_a_helper_that_cannot_open_the_index_says_why(settings: Settings) -> None:
    (settings.index_dir / "versions" / "v00000001").mkdir(parents=True)
    (settings.index_dir / "CURRENT").write_text("v00000001")  # a version with nothing in it
    with pytest.raises(Exception, match="no segments were loaded"):
        ProcessReader(settings.index_dir, refresh_s=0, processes=1)


def test_a_helper_that_stops_answering_is_killed_and_replaced(
    settings: Settings, dense: DenseEncoder, sparse: SparseEncoder
) -> None:
    _publish(settings.index_dir, icd_records(30), dense, sparse)
    reader = ProcessReader(settings.index_dir, refresh_s=0, processes=1, read_timeout_s=1)
    try:
        (pid,) = reader.pids
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # alive, silent
        with pytest.raises(TimeoutError, match="did not answer in 1s"):
            reader.count(tenant_filter("default", None))
        with pytest.raises(ProcessLookupError):  # killed and reaped
            os.kill(pid, 0)
        assert reader.count(tenant_filter("default", None)) == 30  # a new helper
    finally:
        reader.close()


def test_a_helper_that_dies_is_replaced_and_the_read_asked_again(
    settings: Settings, dense: DenseEncoder, sparse: SparseEncoder
) -> None:
    _publish(settings.index_dir, icd_records(40), dense, sparse)
    reader = ProcessReader(settings.index_dir, refresh_s=0, processes=1)
    try:
        (pid,) = reader.pids
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        assert reader.count(tenant_filter("default", None)) == 40
        (replacement,) = reader.pids
        assert replacement not in (None, pid)
    finally:
        reader.close()
    with pytest.raises(RuntimeError, match="closed"):
        reader.count(tenant_filter("default", None))
    with pytest.raises(ProcessLookupError):  # stopped and reaped
        os.kill(replacement, 0)


def test_the_service_queries_the_embedded_index_from_a_helper_by_default(
    settings: Settings, dense: DenseEncoder, sparse: SparseEncoder
) -> None:
    _publish(settings.index_dir, icd_records(60), dense, sparse)
    for processes, kind in ((1, ProcessReader), (0, EmbeddedReader)):
        app = create_app(settings.model_copy(update={"index_processes": processes}))
        with TestClient(app) as client:
            assert type(app.state.retriever.reader) is kind
            assert client.get("/readyz").json()["ready"] is True
            body = client.post("/search", json={"query": "thyroid", "top_k": 3}).json()
            assert len(body["results"]) == 3


def test_a_retriever_that_cannot_be_built_leaves_no_helper_running(
    settings: Settings, dense: DenseEncoder, sparse: SparseEncoder
) -> None:
    _publish(settings.index_dir, icd_records(20), dense, sparse)
    assert not multiprocessing.active_children()
    with pytest.raises(SettingsError, match="unknown tier"):  # after the helper started
        build_retriever(settings.model_copy(update={"rerank_tiers": "local,nosuch"}))
    assert not multiprocessing.active_children()  # stopped and reaped


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
