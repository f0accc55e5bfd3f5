"""Index-wide settings fixed when the index is first written (BM25 ``avg_len``, encoders)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from catalyst_search.index.schema import SCHEMA_VERSION
from catalyst_search.settings.paths import meta_file


class EncoderMismatch(RuntimeError):
    """The index was written by a different dense encoder than the one configured."""


def require_encoder(recorded: tuple[str, str] | None, model: str, precision: str) -> None:
    """Refuse an index whose vectors came from another model or precision (``recorded`` None:
    nothing recorded yet), naming the way out: a precision is fixed when it is first written."""
    if recorded is None or tuple(recorded) == (model, precision):
        return
    if recorded[0] == model:
        fix = (
            f"ingest into a new collection (CATALYST_COLLECTION) to use {precision}, or set "
            f"CATALYST_ENCODER_PRECISION={recorded[1]}"
        )
    else:
        fix = "rebuild the index (the rebuild_index job) or configure the encoder that wrote it"
    raise EncoderMismatch(
        f"the index was written by {recorded[0]} ({recorded[1]}), this process encodes with "
        f"{model} ({precision}); {fix}"
    )


@dataclass(frozen=True)
class IndexMeta:
    """What every writer of one index must agree on."""

    bm25_avg_len: float
    dense_model: str
    dense_precision: str = "fp32"  # absent from metas written before it was recorded: fp32
    schema_version: int = SCHEMA_VERSION


def load_meta(index_dir: Path, collection: str) -> IndexMeta | None:
    path = meta_file(index_dir, collection)
    if not path.exists():
        return None
    return IndexMeta(**json.loads(path.read_text()))


def save_meta(index_dir: Path, collection: str, meta: IndexMeta) -> None:
    path = meta_file(index_dir, collection)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(meta), indent=2))
    tmp.replace(path)
