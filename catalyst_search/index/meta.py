"""Index-wide settings fixed when the index is first written (BM25 ``avg_len``, encoders)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from catalyst_search.index.schema import SCHEMA_VERSION


@dataclass(frozen=True)
class IndexMeta:
    """What every writer of one index must agree on."""

    bm25_avg_len: float
    dense_model: str
    dense_precision: str = "fp32"  # absent from metas written before it was recorded: fp32
    schema_version: int = SCHEMA_VERSION


def meta_path(index_dir: Path, collection: str) -> Path:
    return index_dir / f"meta-{collection}.json"


def load_meta(index_dir: Path, collection: str) -> IndexMeta | None:
    path = meta_path(index_dir, collection)
    if not path.exists():
        return None
    return IndexMeta(**json.loads(path.read_text()))


def save_meta(index_dir: Path, collection: str, meta: IndexMeta) -> None:
    path = meta_path(index_dir, collection)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(meta), indent=2))
    tmp.replace(path)
