"""The int8 encoder (``CATALYST_ENCODER_PRECISION=int8``): a parity-checked quantization of
the fp32 export that ranks as fp32 does, recorded by the index it writes; a service or ingest
with the other precision refuses that index."""

from __future__ import annotations

import json
import logging
import os

import dagster as dg
import numpy as np
import onnx
import pytest

from catalyst_search.embed import onnx_export
from catalyst_search.embed.dense import DenseEncoder, EncoderMismatch, model_path
from catalyst_search.index.meta import load_meta
from catalyst_search.retrieval.factory import build_retriever
from catalyst_search.settings import Settings, SettingsError, get_settings, load_settings
from tests.conftest import icd_records, write_jsonl
from tests.orchestration.helpers import ingest


@pytest.fixture(scope="module")
def int8() -> DenseEncoder:
    return DenseEncoder(precision="int8").load()


def test_int8_is_a_checked_quantization_that_ranks_as_fp32(
    dense: DenseEncoder, int8: DenseEncoder
) -> None:
    fp32_file = onnx_export.exported_model(dense.models_dir, model_path())
    int8_file = onnx_export.exported_model(int8.models_dir, model_path(), "int8")
    assert int8_file.parent.name.endswith("-int8-v2") and int8_file != fp32_file
    assert int8_file.stat().st_size < fp32_file.stat().st_size / 3  # int8 weights
    report = json.loads((int8_file.parent / "parity.json").read_text())
    assert 0.97 <= report["min_cosine"] < 0.9999  # checked against torch, and not fp32's file

    # dense alone, a code's title against its 400 sibling records: a hard test of fine
    # distinctions (fp32 MRR 0.63, int8 0.60 when written; on the dev set the two are equal)
    records = icd_records(400)
    documents = [r["text"] for r in records]
    asked = list(range(0, len(records), 2))
    queries = [records[i]["text"].split("\n")[0].split(" ", 1)[1] for i in asked]
    assert int8.identity == (DenseEncoder.name, "int8")
    for encoded in (int8.encode(documents), int8.encode(queries)):
        assert np.allclose(np.linalg.norm(encoded, axis=1), 1.0, atol=1e-5)
    cosine = np.sum(dense.encode(documents) * int8.encode(documents), axis=1)
    assert cosine.min() > 0.97 and cosine.max() < 0.9999  # close to fp32, and not fp32

    def mrr(encoder: DenseEncoder) -> float:
        ranked = np.argsort(-(encoder.encode(queries) @ encoder.encode(documents).T), axis=1)
        return float(
            np.mean([1 / (list(row).index(i) + 1) for i, row in zip(asked, ranked, strict=True)])
        )

    assert mrr(int8) >= mrr(dense) - 0.05


def test_int8_runs_on_onnx_runtime_only(catalyst_home) -> None:
    with pytest.raises(SettingsError, match="CATALYST_ENCODER_PRECISION=int8 runs on ONNX"):
        load_settings(encoder_runtime="torch", encoder_precision="int8")
    with pytest.raises(ValueError, match="fp32 only"):
        DenseEncoder(runtime="torch", precision="int8")


def test_an_int8_ingest_records_int8_and_only_int8_searches_it(
    catalyst_home, tmp_path, monkeypatch, int8: DenseEncoder
) -> None:
    source = write_jsonl(tmp_path / "thyroid.jsonl", icd_records(prefix="E0"))
    monkeypatch.setenv("CATALYST_ENCODER_PRECISION", "int8")
    get_settings.cache_clear()
    with dg.instance_for_test() as instance:
        result, written = ingest(source, instance)
    assert result.success and written["documents_new"] > 0
    settings = load_settings()
    meta = load_meta(settings.index_dir, settings.collection)
    assert meta is not None and meta.dense_precision == "int8"

    retriever = build_retriever(settings)
    try:
        found = retriever.search(tenant_id="default", query="iodine deficiency goiter", top_k=3)
        assert found.hits and str(found.hits[0].hit.payload["document_id"]).startswith("E0")
    finally:
        retriever.close()
    with pytest.raises(EncoderMismatch, match=r"written by .*\(int8\).*fp32"):
        build_retriever(load_settings(encoder_precision="fp32"))

    # an fp32 ingest into it fails without retries rather than mix the two
    monkeypatch.setenv("CATALYST_ENCODER_PRECISION", "fp32")
    get_settings.cache_clear()  # what the ingest's resources read
    with dg.instance_for_test() as instance:
        refused, _ = ingest(
            write_jsonl(tmp_path / "more.jsonl", icd_records(prefix="E1")), instance
        )
    errors = [e.step_failure_data.error for e in refused.all_node_events if e.is_step_failure]
    assert any(e and "written by" in e.message and "(int8)" in e.message for e in errors)


def test_a_qdrant_collection_records_int8_and_a_writer_of_the_other_precision_is_refused(
    catalyst_home, tmp_path
) -> None:
    from catalyst_search.index.server.reader import ServerReader
    from catalyst_search.index.server.writer import ServerWriter

    def server(precision: str) -> Settings:
        return load_settings(
            index_backend="server",
            qdrant_url=f"path:{tmp_path / 'qdrant'}",
            encoder_precision=precision,
        )

    writer = ServerWriter.connect(server("int8"))  # creates the collection, recording int8
    reader = ServerReader(writer._client, server("int8").collection, refresh_s=0)
    recorded = reader.recorded_encoder()
    assert recorded == (DenseEncoder.name, "int8")
    DenseEncoder(precision="int8").check_index(recorded)
    with pytest.raises(EncoderMismatch, match="int8"):
        DenseEncoder().check_index(recorded)
    writer.close()
    with pytest.raises(EncoderMismatch, match=r"\(int8\).*\(fp32\).*new collection"):
        ServerWriter.connect(server("fp32"))
    ServerWriter.connect(server("int8")).close()  # the same precision writes on


def test_quantizing_keeps_to_itself_on_the_root_logger(dense: DenseEncoder, tmp_path) -> None:
    """ONNX Runtime's quantizer logs through ``logging.info``: without care, 40 lines on the
    root logger, and a stderr handler left on it in a process that configured no logging."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32_file = onnx_export.exported_model(dense.models_dir, model_path())
    root = logging.getLogger()
    seen: list[logging.LogRecord] = []
    collect = logging.Handler(logging.DEBUG)
    collect.emit = seen.append  # type: ignore[method-assign]
    saved_handlers, saved_level, saved_filters = root.handlers[:], root.level, root.filters[:]
    quantizer = f"onnxruntime{os.sep}quantization{os.sep}"
    try:
        root.handlers, root.level = [collect], logging.DEBUG
        model = onnx.load(fp32_file)
        quantize_dynamic(model, tmp_path / "raw.onnx", weight_type=QuantType.QInt8)
        assert [r for r in seen if quantizer in r.pathname]  # it does log, left to itself
        seen.clear()
        onnx_export._quantize(fp32_file, tmp_path / "seen.onnx")
        assert not [r for r in seen if quantizer in r.pathname]

        root.handlers = []  # as in a process that set no logging up
        onnx_export._quantize(fp32_file, tmp_path / "bare.onnx")
        assert root.handlers == []  # logging.basicConfig did not run
    finally:
        root.handlers, root.level = saved_handlers, saved_level
    assert root.filters == saved_filters  # the filter went with the call
