"""MiniLM through ONNX Runtime: tokenizers + the exported encoder + mean pooling, no torch."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from catalyst_search.index.schema import DENSE_SIZE

#: What one more session call costs, in padded tokens of work. Measured on 2 cores with ICD
#: queries (12 tokens on average, up to 50) in batches of 8: cutting where a call saves more
#: than 16 padding tokens took 20-25% less time than one padded call; 8 and 32 did worse
#: (docs/performance.md).
CALL_COST_TOKENS = 16


def plan_calls(
    lengths: Sequence[int], max_batch: int, call_cost: int = CALL_COST_TOKENS
) -> list[int]:
    """Where to cut ``lengths`` (sorted longest first) into session calls: the cut points
    that minimize padded tokens plus ``call_cost`` per call, each call at most ``max_batch``.

    A call pads every row to its longest; a batch of queries of mixed length padded as one
    call pays for the longest many times over, and one call per query pays the call cost each
    time. Exact, by dynamic programming over the sorted lengths, O(len × max_batch).
    """
    count = len(lengths)
    best = [0] * (count + 1)  # best[n]: the least cost of the first n rows
    cut = [0] * (count + 1)  # cut[n]: where the last call of that best plan starts
    for end in range(1, count + 1):
        best[end], cut[end] = min(
            (best[start] + call_cost + (end - start) * lengths[start], start)
            for start in range(max(0, end - max_batch), end)
        )
    ends = []
    end = count
    while end > 0:
        ends.append(end)
        end = cut[end]
    return ends[::-1]


def max_seq_length(model_dir: Path) -> int:
    config = model_dir / "sentence_bert_config.json"
    return (
        int(json.loads(config.read_text()).get("max_seq_length", 256)) if config.exists() else 256
    )


class OnnxRuntime:
    """Encodes like sentence-transformers (truncate, mean-pool, L2-normalize) with ONNX Runtime.

    Texts are sorted by length and cut into session calls of similar lengths (``plan_calls``),
    so little of a call is padding. With ``calls`` 1 (queries), one session call runs at a
    time, on ``threads`` threads, which sleep rather than spin between calls. With more (batch
    encoding at ingest, ``threads`` 1), that many calls of one ``encode`` run at once, each in
    its own thread: on 2 cores two one-thread calls encoded ingest's groups 9% faster than one
    two-thread call, whose threads wait on each other (docs/performance.md). (Calls at once
    share the session's one pool of ``threads`` - 1 workers: more threads would not multiply.)
    """

    def __init__(
        self,
        onnx_path: Path,
        model_dir: Path,
        *,
        batch_size: int = 64,
        threads: int = 0,
        calls: int = 1,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.batch_size = batch_size
        cores = len(os.sched_getaffinity(0))  # the cores this process may use
        self.calls = max(1, calls)
        self.threads = threads or max(1, cores // self.calls)
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_seq_length(model_dir))
        self.tokenizer.no_padding()  # each call pads its own rows (_call), to its longest
        self.pad_id = self.tokenizer.token_to_id("[PAD]") or 0
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
        self._slots = threading.BoundedSemaphore(self.calls)
        self._pool = (
            ThreadPoolExecutor(self.calls, thread_name_prefix="onnx-call")
            if self.calls > 1
            else None
        )

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DENSE_SIZE), dtype=np.float32)
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]), reverse=True)
        result = np.empty((len(ids), DENSE_SIZE), dtype=np.float32)
        ends = plan_calls([len(ids[i]) for i in order], self.batch_size)
        calls = [order[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)]
        if self._pool is None or len(calls) == 1:
            for rows in calls:
                result[rows] = self._call([ids[i] for i in rows])
        else:
            # shortest calls last, so the calls running at the end finish close together
            outputs = self._pool.map(lambda rows: self._call([ids[i] for i in rows]), calls)
            for rows, vectors in zip(calls, outputs, strict=True):
                result[rows] = vectors
        return result

    def _call(self, rows: list[list[int]]) -> np.ndarray:
        """One session call over token ids sorted longest first, padded to the first."""
        ids = np.full((len(rows), len(rows[0])), self.pad_id, dtype=np.int64)
        mask = np.zeros_like(ids)
        for n, row in enumerate(rows):
            ids[n, : len(row)] = row
            mask[n, : len(row)] = 1
        with self._slots:
            hidden = self.session.run(
                None,
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
