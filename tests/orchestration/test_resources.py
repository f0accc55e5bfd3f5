"""Resources own their clients: one ``ingest`` run parses the settings once and opens each
client once, however many steps use it."""

from __future__ import annotations

from collections import Counter
from typing import Any

import dagster as dg
import pytest

from catalyst_orchestration.definitions import defs
from catalyst_orchestration.defs.partitions import register_source
from catalyst_orchestration.lib.artifacts import LocalArtifactStore
from catalyst_orchestration.lib.state import StateStore
from catalyst_search.embed.dense import DenseEncoder
from catalyst_search.index.embedded.writer import EmbeddedWriter
from catalyst_search.ingest_requests.contract import JOB_TAG
from catalyst_search.ingest_requests.queue import SqliteQueue
from catalyst_search.ingest_requests.sqlite_jobs import SqliteJobStore
from catalyst_search.settings import Settings, get_settings, load_settings
from tests.conftest import icd_records, write_jsonl

CLIENTS = (StateStore, LocalArtifactStore, SqliteJobStore, SqliteQueue, DenseEncoder)


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts settings parses and client constructions from here on."""
    counts: Counter[str] = Counter()

    def counting(cls: type, name: str) -> None:
        original = cls.__init__

        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            counts[name] += 1
            original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", init)

    counting(Settings, "Settings")
    for cls in CLIENTS:
        counting(cls, cls.__name__)
    original_open = EmbeddedWriter.open.__func__  # type: ignore[attr-defined]

    def open_writer(cls: type, *args: Any, **kwargs: Any) -> EmbeddedWriter:
        counts["EmbeddedWriter"] += 1
        return original_open(cls, *args, **kwargs)

    monkeypatch.setattr(EmbeddedWriter, "open", classmethod(open_writer))
    return counts


def test_one_run_parses_settings_once_and_opens_each_client_once(catalyst_home, tmp_path, opened):
    source = write_jsonl(tmp_path / "r.jsonl", icd_records(limit=8))
    jobs = SqliteJobStore(load_settings().jobs_db)
    jobs.create(job_id="j1", tenant_id="default", sources=[str(source)], metadata={})
    job = defs().resolve_job_def("ingest")
    with dg.instance_for_test() as instance:
        partition = register_source(
            instance, StateStore(load_settings().state_db), tenant_id="default", uri=str(source)
        ).partition_key
        get_settings.cache_clear()
        opened.clear()
        result = job.execute_in_process(
            instance=instance, partition_key=partition, tags={JOB_TAG: "j1"}
        )
    assert result.success
    steps = {e.step_key for e in result.all_events if e.is_step_success}
    assert steps == {"raw_documents", "parsed_documents", "chunks", "index"}
    assert opened["Settings"] == 1  # parsed once for the process, shared by every resource
    for client in ("StateStore", "LocalArtifactStore", "SqliteJobStore", "DenseEncoder"):
        assert opened[client] == 1, (client, dict(opened))
    assert opened["EmbeddedWriter"] == 1  # opened in the index step, under the writer lock
    assert opened["SqliteQueue"] == 0  # the queue is the sensor's, not the run's
    finished = jobs.get("j1")
    assert finished is not None and finished.status == "succeeded"
    assert (finished.docs_done, finished.docs_total) == (8, 8)
