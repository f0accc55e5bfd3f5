"""Shared fixtures: an isolated CATALYST_HOME per test, the real encoders, small corpora."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from catalyst_search.embed.dense import DenseEncoder
from catalyst_search.embed.sparse import SparseEncoder
from catalyst_search.settings import Settings, get_settings, load_settings

ROOT = Path(__file__).resolve().parent.parent

# Tests send traffic to loopback only: boto3 must never ask a cloud metadata service
# (169.254.169.254) for credentials when a test builds an S3 client without them.
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
# One ONNX export of the dense model for the whole run, its subprocesses included (as `make
# demo`'s): per-test homes would otherwise export it again in every test.
os.environ.setdefault("CATALYST_MODEL_CACHE", str(ROOT / ".catalyst" / "models"))
SAMPLE_RECORDS = ROOT / "samples" / "corpus" / "icd10cm-chapter4-endocrine.jsonl.gz"


@pytest.fixture
def catalyst_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "catalyst"
    monkeypatch.setenv("CATALYST_HOME", str(home))
    # a test's own files may be ingested, and nothing else on the machine
    monkeypatch.setenv("CATALYST_SOURCE_ROOTS", f"{tmp_path},{ROOT / 'samples'}")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    (tmp_path / "dagster").mkdir()
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture
def settings(catalyst_home: Path) -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def dense() -> DenseEncoder:
    return DenseEncoder().load()


@pytest.fixture(scope="session")
def sparse() -> SparseEncoder:
    return SparseEncoder(avg_len=20.0)


def icd_records(limit: int | None = None, prefix: str = "") -> list[dict]:
    """Real ICD-10-CM records from the sample corpus (chapter 4, endocrine)."""
    records = []
    with gzip.open(SAMPLE_RECORDS, "rt") as handle:
        for line in handle:
            record = json.loads(line)
            if record["id"].startswith(prefix):
                records.append(record)
            if limit and len(records) >= limit:
                break
    return records


def write_jsonl(path: Path, records: list[dict], *, gz: bool = False) -> Path:
    text = "".join(json.dumps(r) + "\n" for r in records)
    if gz:
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path
