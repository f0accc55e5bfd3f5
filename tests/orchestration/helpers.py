"""Run the ingestion assets with ``dg.materialize`` against the test's CATALYST_HOME."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg

from catalyst_orchestration.defs.acquisition.assets import raw_documents
from catalyst_orchestration.defs.indexing.assets import chunks, index
from catalyst_orchestration.defs.parsing.assets import parsed_documents
from catalyst_orchestration.defs.partitions import register_source
from catalyst_orchestration.defs.resources import ingest_resources
from catalyst_orchestration.lib.state import StateStore
from catalyst_search.index.embedded import versions
from catalyst_search.settings import load_settings
from tests.helpers.pdf import make_pdf

ASSETS = [raw_documents, parsed_documents, chunks, index]

LONG_TEXT = " ".join(
    f"Paragraph {i}: gestational diabetes raises the risk of macrosomia, neonatal hypoglycemia "
    "and later type 2 diabetes, so glucose is rechecked after delivery."
    for i in range(60)
)


def ingest(
    path: Path, instance: dg.DagsterInstance, *, tenant: str = "default"
) -> tuple[dg.ExecuteInProcessResult, dict[str, Any]]:
    """Materialize one source's partition; returns the result and the index metadata."""
    state = StateStore(load_settings().state_db)
    source = register_source(instance, state, tenant_id=tenant, uri=str(path))
    result = dg.materialize(
        ASSETS,
        instance=instance,
        partition_key=source.partition_key,
        resources=ingest_resources(),
        raise_on_error=False,
    )
    metadata: dict[str, Any] = {}
    for materialization in result.asset_materializations_for_node("index"):
        metadata = {key: value.value for key, value in materialization.metadata.items()}
    return result, metadata


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {
        evaluation.check_name: evaluation.passed
        for evaluation in result.get_asset_check_evaluations()
    }


def make_corpus(root: Path, records: list[dict]) -> Path:
    """A folder with every supported type, a JSONL file, and three bad documents."""
    import json

    root.mkdir(parents=True, exist_ok=True)
    (root / "overview.md").write_text("# Gestational diabetes\n\n" + LONG_TEXT)
    (root / "thyroid.txt").write_text("Levothyroxine treats hypothyroidism after thyroidectomy.")
    (root / "page.html").write_text(
        "<html><head><title>Ketoacidosis</title></head><body><p>Diabetic ketoacidosis needs "
        "fluids and insulin.</p></body></html>"
    )
    (root / "handout.pdf").write_bytes(make_pdf(["Insulin pump catheter blockage"], title="Pump"))
    (root / "note.json").write_text(json.dumps({"text": "Addison disease sick-day rules."}))
    (root / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage")
    (root / "blob.bin").write_bytes(b"\x00\x01\x02")
    lines = [json.dumps(r) for r in records]
    lines.insert(4, '{"id": "BROKEN", "text": "unterminated')
    (root / "records.jsonl").write_text("\n".join(lines) + "\n")
    return root


def retried(instance: dg.DagsterInstance) -> bool:
    """Whether any step of any run in ``instance`` has been retried."""
    return any(
        instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY)
        for run in instance.get_runs()
    )


@contextmanager
def index_locked_until_a_retry(instance: dg.DagsterInstance) -> Iterator[None]:
    """Another writer holds the index lock until a step of a run in ``instance`` has failed
    once for it (a transient error) and been put up for retry; set
    ``CATALYST_WRITER_LOCK_TIMEOUT_S`` low so the step gives up quickly."""
    locked, stop = threading.Event(), threading.Event()

    def hold() -> None:
        with versions.writer_lock(load_settings().index_dir, timeout_s=10):
            locked.set()
            deadline = time.monotonic() + 120
            while not stop.is_set() and not retried(instance) and time.monotonic() < deadline:
                time.sleep(0.1)

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10)
    try:
        yield
    finally:
        stop.set()
        holder.join()


def dispatch_and_run(
    instance: dg.DagsterInstance,
) -> tuple[dg.RunRequest, dg.ExecuteInProcessResult]:
    """The daemon's part for one queued request: a tick of the ingest_requests sensor, then its
    run of the ``ingest`` job, with the index locked until the index step has retried once."""
    from catalyst_orchestration.definitions import defs
    from catalyst_orchestration.defs.requests.sensors import ingest_requests
    from catalyst_search.ingest_requests.contract import SENSOR_NAME

    with dg.build_sensor_context(instance=instance, resources=ingest_resources()) as context:
        (request,) = ingest_requests(context).run_requests or []
    tags = {**request.tags, "dagster/run_key": request.run_key, "dagster/sensor_name": SENSOR_NAME}
    with index_locked_until_a_retry(instance):
        job = defs().resolve_job_def("ingest")
        result = job.execute_in_process(
            instance=instance, partition_key=request.partition_key, tags=tags
        )
    return request, result
