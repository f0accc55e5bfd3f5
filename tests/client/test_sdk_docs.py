"""Every Python example in docs/sdk.md runs as printed against a live service with an index."""

from __future__ import annotations

import json
import re

import dagster as dg
import pytest

from catalyst_search.client import CatalystClient
from catalyst_search.settings import load_settings
from tests.conftest import ROOT, icd_records, write_jsonl
from tests.helpers.environment import catalyst_environment
from tests.helpers.live_app import live_app
from tests.orchestration.helpers import dispatch_and_run

DOC = ROOT / "docs" / "sdk.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


@pytest.fixture(scope="module")
def names(tmp_path_factory):
    """``URL``, ``SOURCE`` and ``JOB_ID`` (a job ingested through the sensor and a real run)."""
    home = tmp_path_factory.mktemp("sdk-docs")
    with catalyst_environment(home):
        corpus = home / "corpus.jsonl"
        records = icd_records(limit=30, prefix="E11") + icd_records(limit=30)
        corpus.write_text("".join(json.dumps(r) + "\n" for r in records))
        with live_app(load_settings()) as url:
            with CatalystClient(url) as client:
                job_id = client.submit_ingest([str(corpus)]).job_id
            with dg.instance_for_test() as instance:
                dispatch_and_run(instance)
            source = write_jsonl(home / "more.jsonl", icd_records(limit=3, prefix="E10"))
            yield {"URL": url, "SOURCE": str(source), "JOB_ID": job_id}


def test_the_doc_has_examples():
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("code", EXAMPLES, ids=[f"example {n + 1}" for n in range(len(EXAMPLES))])
def test_every_example_runs_as_printed(names, code, capsys):
    exec(compile(code, str(DOC), "exec"), dict(names))  # noqa: S102
    assert capsys.readouterr().out.strip()  # each example prints what it shows
