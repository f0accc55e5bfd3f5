"""Export the bundled MiniLM weights to ONNX once, and refuse an export whose vectors differ.

The export is cached as ``<models_dir>/minilm-<sha256 of the weights>-<precision>-v2/model.onnx``
so every process and host with the same weights shares one file, and new weights get a new one.
The int8 model is the fp32 export quantized by ONNX Runtime (``quantize_dynamic``: weights
per output channel, activations per call), which gives the same file in every process.
Torch is needed here only: the runtime that loads the file needs ONNX Runtime and tokenizers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

log = logging.getLogger("catalyst_search.embed")

EXPORT_VERSION = 2  # bump when the export below changes, so old files are not reused
OPSET = 17
#: Parity texts: short, long (past 256 word pieces: truncation), odd characters, and a batch
#: whose rows need padding. Vectors must agree to this cosine, row by row.
PARITY_TEXTS = [
    "type 2 diabetes with kidney complications",
    "fracture",
    "Acute myocardial infarction of inferior wall, initial episode of care; ST elevation " * 12,
    "résumé — naïve café, 10 mg/kg q.i.d.; Ω ≥ 3 🙂",
    "Pressure ulcer of left heel, stage 3",
]
#: precision -> (least cosine, largest component difference) to torch's vectors. Int8 moves a
#: vector a little (cosine 0.98-0.999 on ICD queries), the dev set's nDCG not (benchmarks.md).
TOLERANCE = {"fp32": (0.9999, 1e-4), "int8": (0.97, 0.05)}


class EncoderParityError(RuntimeError):
    """The ONNX export's vectors differ from torch's: it is not used."""


def weights_hash(model_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        with open(model_dir / name, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def export_dir(models_dir: Path, model_dir: Path, precision: str = "fp32") -> Path:
    return models_dir / f"minilm-{weights_hash(model_dir)[:16]}-{precision}-v{EXPORT_VERSION}"


def exported_model(models_dir: Path, model_dir: Path, precision: str = "fp32") -> Path:
    """The parity-checked ``model.onnx`` for ``model_dir``'s weights, exporting it if missing."""
    target = export_dir(models_dir, model_dir, precision)
    model = target / "model.onnx"
    if model.exists():
        return model
    target.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    partial = target / f"model.onnx.{uuid.uuid4().hex}.partial"  # hosts sharing the cache too
    try:
        if precision == "int8":
            _quantize(exported_model(models_dir, model_dir), partial)
        else:
            _export(model_dir, partial)
        report = parity(model_dir, partial, precision)
        (target / "parity.json").write_text(json.dumps(report, indent=2))
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())  # whole on disk before it is published
        os.replace(partial, model)  # atomic: concurrent exporters each publish a whole file
    finally:
        partial.unlink(missing_ok=True)
    log.info(
        "exported the dense model to ONNX in %.1fs: %s (parity min cosine %.6f)",
        time.perf_counter() - started,
        model,
        report["min_cosine"],
    )
    return model


def _export(model_dir: Path, path: Path) -> None:
    import torch
    from transformers import AutoModel

    class LastHiddenState(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            out = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    # eager attention exports as plain MatMul/Softmax: measured on 2 cores against the SDPA
    # export, as fast for one query and for batches of documents, and a third less memory
    bert = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager")
    module = LastHiddenState(bert.eval())
    example = torch.ones(2, 8, dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notices
        torch.onnx.export(
            module,
            (example, example, torch.zeros_like(example)),
            str(path),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={name: axes for name in [*names, "last_hidden_state"]},
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter: no onnxscript, and BERT traces cleanly
        )


def _quantize(fp32: Path, path: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    log.info("quantizing the ONNX export to int8 (weights per channel): %s", path.parent.name)
    # the model, not its path: given a path, onnxruntime writes a scratch file beside it, which
    # two processes quantizing at once would share (and a read-only cache would refuse)
    model = onnx.load(fp32)
    with _quiet_root_logging():
        quantize_dynamic(model, path, weight_type=QuantType.QInt8, per_channel=True)


_QUANTIZER = f"onnxruntime{os.sep}quantization{os.sep}"


@contextmanager
def _quiet_root_logging() -> Iterator[None]:
    """ONNX Runtime's quantizer logs through the root logger's functions (``logging.info``,
    ``logging.warning``): about 40 lines of advice a model, and in a process whose root logger
    has no handler each call first runs ``logging.basicConfig``, leaving a stderr handler
    behind. For the call, a filter drops the quantizer's records below ERROR, and on a root
    logger without handlers a ``NullHandler`` keeps ``basicConfig`` from running (so for those
    seconds a warning another thread logs there misses logging's last-resort stderr output)."""
    root = logging.getLogger()
    placeholder = None if root.handlers else logging.NullHandler()

    def not_the_quantizer(record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or _QUANTIZER not in record.pathname

    if placeholder is not None:
        root.addHandler(placeholder)
    root.addFilter(not_the_quantizer)
    try:
        yield
    finally:
        root.removeFilter(not_the_quantizer)
        if placeholder is not None:
            root.removeHandler(placeholder)


def parity(model_dir: Path, onnx_path: Path, precision: str = "fp32") -> dict[str, float | int]:
    """Compare the export with sentence-transformers on ``PARITY_TEXTS``; raise if they differ."""
    from catalyst_search.embed.onnx_runtime import OnnxRuntime
    from catalyst_search.embed.torch_runtime import TorchRuntime

    expected = TorchRuntime(model_dir, batch_size=8).encode(PARITY_TEXTS)
    got = OnnxRuntime(onnx_path, model_dir, batch_size=8).encode(PARITY_TEXTS)
    cosine = float(np.min(np.sum(expected * got, axis=1)))
    worst = float(np.max(np.abs(expected - got)))
    least, largest = TOLERANCE[precision]
    if cosine < least or worst > largest:
        way_out = "PRECISION=fp32" if precision != "fp32" else "RUNTIME=torch"
        raise EncoderParityError(
            f"the {precision} ONNX export of {model_dir} differs from torch (min cosine "
            f"{cosine:.6f}, max |diff| {worst:.2e}); set CATALYST_ENCODER_{way_out}"
        )
    return {"min_cosine": cosine, "max_abs_diff": worst, "texts": len(PARITY_TEXTS)}
