"""Every Python example in docs/sdk.md runs as printed against a live service with an index."""

from __future__ import annotations

import re

import pytest

from catalyst_search.settings import load_settings
from tests.client.test_sdk import _publish
from tests.conftest import ROOT, icd_records, write_jsonl
from tests.helpers.live_app import live_app

DOC = ROOT / "docs" / "sdk.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


@pytest.fixture(scope="module")
def service(tmp_path_factory, dense, sparse):
    home = tmp_path_factory.mktemp("sdk-docs")
    _publish(home, dense, sparse)
    source = write_jsonl(home / "records.jsonl", icd_records(limit=3))
    with live_app(load_settings(home=home, source_roots=str(home))) as url:
        yield url, str(source)


def test_the_doc_has_examples():
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("code", EXAMPLES, ids=[f"example {n + 1}" for n in range(len(EXAMPLES))])
def test_every_example_runs_as_printed(service, code, capsys):
    url, source = service
    exec(compile(code, str(DOC), "exec"), {"URL": url, "SOURCE": source})  # noqa: S102
    assert capsys.readouterr().out.strip()  # each example prints what it shows
