"""The dense encoder's runtimes: ONNX export with its parity check and cache, the query batcher,
and the index's record of the encoder that wrote it."""

from __future__ import annotations

import itertools
import os
import shutil
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from catalyst_search.embed import onnx_export
from catalyst_search.embed.batcher import BatcherClosed, QueryBatcher
from catalyst_search.embed.dense import BULK_CALLS, DenseEncoder, EncoderMismatch, model_path
from catalyst_search.embed.onnx_runtime import OnnxRuntime, plan_calls
from catalyst_search.embed.torch_runtime import TorchRuntime
from catalyst_search.index.meta import IndexMeta, save_meta
from catalyst_search.retrieval.factory import build_retriever
from catalyst_search.settings import Settings
from tests.conftest import icd_records


def test_onnx_gives_torchs_vectors(dense: DenseEncoder) -> None:
    texts = [r["text"] for r in icd_records(200)] + ["fracture", "x " * 400]
    onnx = dense.encode(texts)
    torch = TorchRuntime(model_path(), batch_size=32).encode(texts)
    cosine = np.sum(onnx * torch, axis=1)
    assert dense.runtime == "onnx"
    assert cosine.min() > 0.9999
    assert np.abs(onnx - torch).max() < 1e-4
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)


def test_a_batch_is_cut_where_padding_costs_more_than_a_call() -> None:
    assert plan_calls([12] * 8, max_batch=64, call_cost=16) == [8]  # equal: one call
    ends = plan_calls([12] * 8, max_batch=3, call_cost=16)  # at most max_batch rows a call
    assert len(ends) == 3 and ends[-1] == 8
    assert max(b - a for a, b in zip([0, *ends], ends, strict=False)) <= 3
    # one long query among short ones: padding 7 rows to 50 costs more than a second call
    assert plan_calls([50, 12, 12, 12, 12, 12, 12, 12], max_batch=64, call_cost=16) == [1, 8]
    # a little longer is not worth a call: 2 padding tokens x 4 rows < 16
    assert plan_calls([14, 14, 12, 12, 12, 12], max_batch=64, call_cost=16) == [6]
    assert plan_calls([], max_batch=8) == []


def test_cutting_a_batch_into_calls_leaves_every_vector_as_it_was(dense: DenseEncoder) -> None:
    texts = ["fracture", "type 2 diabetes mellitus with diabetic chronic kidney disease"] + [
        r["text"] for r in icd_records(20)
    ]
    together = dense.encode(texts)  # several calls, rows back in the callers' order
    alone = np.concatenate([dense.encode([text]) for text in texts])
    assert np.abs(together - alone).max() < 1e-5


def test_export_is_cached_by_the_weights_hash(tmp_path: Path, dense: DenseEncoder) -> None:
    cached = onnx_export.exported_model(dense.models_dir, model_path())
    mtime = cached.stat().st_mtime_ns
    assert onnx_export.exported_model(dense.models_dir, model_path()) == cached
    assert cached.stat().st_mtime_ns == mtime  # not exported again
    assert onnx_export.weights_hash(model_path())[:16] in cached.parent.name

    other = tmp_path / "weights"  # other weights (here: another config file) get their own export
    shutil.copytree(model_path(), other)
    (other / "config.json").write_text((other / "config.json").read_text() + "\n")
    assert onnx_export.export_dir(dense.models_dir, other) != cached.parent


def test_an_export_that_differs_from_torch_is_refused(tmp_path: Path, dense: DenseEncoder) -> None:
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(onnx_export.exported_model(dense.models_dir, model_path())))
    weights = next(w for w in model.graph.initializer if len(w.dims) == 2 and w.dims[0] > 1000)
    weights.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(weights) * 1.5, weights.name))
    bad = tmp_path / "bad.onnx"
    onnx.save(model, str(bad))
    with pytest.raises(onnx_export.EncoderParityError, match="differs from torch"):
        onnx_export.parity(model_path(), bad)


def test_concurrent_queries_share_encoder_calls(dense: DenseEncoder) -> None:
    texts = [r["text"] for r in icd_records(64)]
    expected = dense.encode(texts)
    calls: list[int] = []
    started = threading.Event()

    def slow_encode(batch: list[str]) -> np.ndarray:
        calls.append(len(batch))
        started.wait(1)  # the first call lasts until the others queue behind it
        return dense.encode(batch)

    batcher = QueryBatcher(slow_encode, max_batch=16, wait_ms=2)
    results: dict[int, np.ndarray] = {}

    def one(i: int) -> None:
        results[i] = batcher.encode_one(texts[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(texts))]
    for thread in threads:
        thread.start()
    started.set()
    for thread in threads:
        thread.join(10)
    batcher.close()
    assert sum(calls) == len(texts)
    assert max(calls) > 1 and max(calls) <= 16 and len(calls) < len(texts)
    for i, row in results.items():
        assert np.dot(row, expected[i]) > 0.9999  # each caller gets its own query's vector


def test_a_query_alone_is_encoded_in_its_callers_thread() -> None:
    seen: list[threading.Thread] = []

    def encode(batch: list[str]) -> np.ndarray:
        seen.append(threading.current_thread())
        return np.ones((len(batch), 3), dtype=np.float32)

    batcher = QueryBatcher(encode, max_batch=4, wait_ms=1)
    for text in ("one", "after the other"):
        assert batcher.encode_one(text).shape == (3,)
    batcher.close()
    assert seen == [threading.current_thread()] * 2  # no hand-over to the worker and back


def test_a_failing_encoder_fails_every_waiting_query_and_close_refuses() -> None:
    def broken(batch: list[str]) -> np.ndarray:
        raise RuntimeError("encoder down")

    batcher = QueryBatcher(broken, max_batch=4, wait_ms=0)
    for _ in range(2):  # a failure does not leave the encoder marked busy
        with pytest.raises(RuntimeError, match="encoder down"):
            batcher.encode_one("anything")
    batcher.close()
    with pytest.raises(BatcherClosed):
        batcher.encode_one("after close")


def test_the_service_refuses_an_index_another_encoder_wrote(settings: Settings) -> None:
    meta = IndexMeta(bm25_avg_len=20.0, dense_model=DenseEncoder.name, dense_precision="int8")
    save_meta(settings.index_dir, settings.collection, meta)
    with pytest.raises(EncoderMismatch, match=r"written by .*int8.*new collection"):
        build_retriever(settings)


def test_the_same_model_and_precision_is_accepted_from_either_runtime(dense: DenseEncoder) -> None:
    recorded = (DenseEncoder.name, "fp32")
    dense.check_index(recorded)
    DenseEncoder(runtime="torch").check_index(recorded)  # torch: the same vectors
    dense.check_index(None)  # an index not written yet


def test_onnx_runtime_uses_the_threads_it_is_given(dense: DenseEncoder) -> None:
    path = onnx_export.exported_model(dense.models_dir, model_path())
    runtime = OnnxRuntime(path, model_path(), threads=1)
    options = runtime.session.get_session_options()
    assert options.intra_op_num_threads == 1
    # idle pool threads sleep: a spinning one would take a core from the search after it
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert runtime.encode([]).shape == (0, 384)


def test_calls_running_at_once_give_every_row_its_own_vector(dense: DenseEncoder) -> None:
    path = onnx_export.exported_model(dense.models_dir, model_path())
    runtime = OnnxRuntime(path, model_path(), batch_size=4, threads=1, calls=2)
    texts = [r["text"] for r in icd_records(40)] + ["fracture", "x " * 300]
    spans: list[tuple[float, float]] = []
    session_run = runtime.session.run

    def timed(*args: object, **kwargs: object) -> object:
        started = time.perf_counter()
        try:
            return session_run(*args, **kwargs)
        finally:
            spans.append((started, time.perf_counter()))

    runtime.session = SimpleNamespace(run=timed)  # type: ignore[assignment]
    together = runtime.encode(texts)
    assert len(spans) >= 11  # 42 rows, at most 4 a call
    spans.sort()
    assert any(b[0] < a[1] for a, b in itertools.pairwise(spans))  # two calls overlapped
    assert np.abs(together - dense.encode(texts)).max() < 1e-5  # each row where it belongs


def test_bulk_encoding_runs_one_call_per_core_at_once_up_to_a_bound(settings: Settings) -> None:
    cores = len(os.sched_getaffinity(0))
    default = settings.model_copy(update={"encoder_threads": 0})
    assert DenseEncoder.from_settings(default).calls == 1  # queries: one call on every core
    bulk = DenseEncoder.from_settings(default, bulk=True)
    # one one-thread call per core, on up to BULK_CALLS cores (each call holds its activations)
    assert bulk.calls == (cores if cores <= BULK_CALLS else 1) and bulk.threads == 0
    assert 1 < BULK_CALLS <= 4
    two_threads = settings.model_copy(update={"encoder_threads": 2})
    assert DenseEncoder.from_settings(two_threads, bulk=True).calls == 1  # as the setting says


def test_a_qdrant_collection_records_its_encoder_and_another_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    from qdrant_client import QdrantClient

    from catalyst_search.index.server import aliases
    from catalyst_search.index.server.reader import ServerReader

    client = QdrantClient(path=str(tmp_path / "qdrant"))
    physical = aliases.ensure_served(client, settings.collection)
    reader = ServerReader(client, settings.collection, refresh_s=0)
    assert reader.recorded_encoder() == (DenseEncoder.name, "fp32")
    DenseEncoder().check_index(reader.recorded_encoder())

    client.update_collection(physical, metadata={"dense_precision": "int8"})  # another encoder
    with pytest.raises(EncoderMismatch, match="int8"):
        DenseEncoder().check_index(reader.recorded_encoder())
    client.close()
