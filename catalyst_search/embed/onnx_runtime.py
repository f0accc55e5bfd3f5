"""MiniLM through ONNX Runtime: tokenizers + the exported encoder + mean pooling, no torch."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from catalyst_search.index.schema import DENSE_SIZE


def max_seq_length(model_dir: Path) -> int:
    config = model_dir / "sentence_bert_config.json"
    return (
        int(json.loads(config.read_text()).get("max_seq_length", 256)) if config.exists() else 256
    )


class OnnxRuntime:
    """Encodes like sentence-transformers (truncate, mean-pool, L2-normalize) with ONNX Runtime.

    Texts are sorted by length before batching, as sentence-transformers does, so a batch pads
    to similar lengths; one session call runs at a time, on ``threads`` threads, which sleep
    rather than spin between calls.
    """

    def __init__(
        self, onnx_path: Path, model_dir: Path, *, batch_size: int = 64, threads: int = 0
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.batch_size = batch_size
        self.threads = threads or len(os.sched_getaffinity(0))  # the cores this process may use
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_seq_length(model_dir))
        pad_id = self.tokenizer.token_to_id("[PAD]") or 0
        self.tokenizer.enable_padding(pad_id=pad_id, pad_token="[PAD]")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # no busy-waiting between calls: a spinning pool thread takes a core from the index
        # query and the event loop that follow each encode (measured on 2 cores: concurrency 8
        # search throughput +18%, p95 -15%; batch encoding unchanged)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DENSE_SIZE), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        rows = np.concatenate(
            [
                self._batch([texts[i] for i in order[start : start + self.batch_size]])
                for start in range(0, len(order), self.batch_size)
            ]
        )
        result = np.empty_like(rows)
        result[order] = rows
        return result

    def _batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        with self._lock:
            hidden = self.session.run(
                None,
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
